// One core's measured single-precision FMA peak in GFLOP/s (measured once, the best of five
// 0.1-s runs); 0 where no FMA tier is available.
#pragma once

double measured_peak_gflops();
