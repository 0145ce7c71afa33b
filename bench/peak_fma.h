// One core's measured single-precision FMA peak in GFLOP/s (measured once, the best of five
// 0.1-s runs); 0 where no FMA tier is available.
#pragma once

double measured_peak_gflops();

// One run of that FMA loop over `iters` iterations (12 vector FMAs each): its rate in
// GFLOP/s; 0 where no FMA tier is available. For comparing a kernel with the peak measured
// beside it, on a shared machine whose speed drifts.
double fma_peak_slice_gflops(long iters);
