// An app on edgert's C++ API: loads MODEL, runs it on THREADS threads at once, one session
// each, on IN_DIR/<input>.npy, and checks every output equals OUT_DIR/<output>.npy (written
// by `edgert run`) bit for bit.   usage: consumer_cpp MODEL IN_DIR OUT_DIR THREADS
#include <cstdio>
#include <cstring>
#include <edgert/edgert.hpp>
#include <fstream>
#include <iostream>
#include <iterator>
#include <string>
#include <thread>
#include <vector>

namespace {

struct Npy {
  std::string file;
  std::size_t start = 0;
  edgert::Shape shape;
};

Npy read_npy(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  Npy a;
  a.file.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  if (a.file.size() < 12 || a.file.compare(0, 6, "\x93NUMPY") != 0) throw std::runtime_error("not .npy: " + path);
  const auto* p = reinterpret_cast<const unsigned char*>(a.file.data());
  const std::size_t hlen = p[6] == 1 ? (p[8] | p[9] << 8) : (p[8] | p[9] << 8 | p[10] << 16 | std::size_t{p[11]} << 24);
  a.start = (p[6] == 1 ? 10 : 12) + hlen;
  std::size_t s = a.file.find("'shape': (") + 10;
  while (a.file[s] != ')') {
    std::size_t used = 0;
    a.shape.push_back(std::stoll(a.file.substr(s), &used));
    s += used;
    while (a.file[s] == ',' || a.file[s] == ' ') ++s;
  }
  return a;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 5) {
    std::cerr << "usage: " << argv[0] << " MODEL IN_DIR OUT_DIR THREADS\n";
    return 2;
  }
  try {
    edgert::load_model("/nonexistent/model.onnx");
    std::cerr << "expected an error\n";
    return 1;
  } catch (const edgert::Error& e) {
    if (e.code() != edgert::ErrorCode::io) return 1;
  }
  try {
    edgert::ModelOptions opt;
    opt.num_threads = 1;
    std::shared_ptr<const edgert::Model> model = edgert::load_model(argv[1], opt);
    std::vector<Npy> in, out;
    for (std::size_t i = 0; i < model->input_count(); ++i)
      in.push_back(read_npy(std::string(argv[2]) + "/" + model->input(i).name + ".npy"));
    for (std::size_t i = 0; i < model->output_count(); ++i)
      out.push_back(read_npy(std::string(argv[3]) + "/" + model->output(i).name + ".npy"));
    const int threads = std::stoi(argv[4]);
    std::vector<int> failures(threads, 0);
    std::vector<std::thread> pool;
    for (int t = 0; t < threads; ++t)
      pool.emplace_back([&, t] {
        try {
          edgert::Session s(model);
          for (int r = 0; r < 3; ++r) {
            for (std::size_t i = 0; i < in.size(); ++i)
              s.set_input(i, edgert::Tensor::view(model->input(i).dtype, in[i].shape, in[i].file.data() + in[i].start));
            s.run();
            for (std::size_t i = 0; i < out.size(); ++i) {
              const edgert::Tensor& y = s.output(i);
              if (y.shape() != out[i].shape || y.nbytes() != out[i].file.size() - out[i].start ||
                  std::memcmp(y.raw(), out[i].file.data() + out[i].start, y.nbytes()) != 0)
                ++failures[t];
            }
          }
        } catch (const std::exception& e) {
          std::cerr << "thread " << t << ": " << e.what() << "\n";
          ++failures[t];
        }
      });
    for (auto& th : pool) th.join();
    int total = 0;
    for (int f : failures) total += f;
    if (total) {
      std::cerr << total << " outputs differ from edgert run's\n";
      return 1;
    }
    std::printf("C++ API (edgert %s): %d threads x 3 runs, %zu outputs equal edgert run's\n", edgert::version(),
                threads, out.size());
  } catch (const edgert::Error& e) {
    std::cerr << e.what() << "\n";
    return 1;
  }
  return 0;
}
