// exp and erf written so that the compiler can vectorise loops that call them (libm's
// expf/erff are scalar calls, and the vector versions need -ffast-math, which we do not use).
//
// gw_expf: Cephes-style range reduction x = n ln2 + r and a degree-6 polynomial for e^r;
//          within 2 ulp of expf for normal results, +inf above 88.72, 0 far below -87.3.
// gw_erff: a rational approximation (the one Eigen and XLA use), absolute error below 5e-7;
//          +-1 beyond |x| = 4.
// tests/tensor/test_kernels.c checks both against libm over a dense grid.
#ifndef GW_FASTMATH_H
#define GW_FASTMATH_H

#include <math.h>
#include <stdint.h>

static inline float gw_expf(float x) {
  // Clamped so that the result saturates to +inf / 0 (NaN stays NaN through the polynomial).
  x = x < -104.0f ? -104.0f : x;
  x = x > 88.8f ? 88.8f : x;
  // n = round(x / ln 2) by the 1.5 * 2^23 trick: adding it leaves n in the low mantissa bits,
  // so neither floorf nor a float-to-int conversion is needed (both stop vectorisation here).
  union { float f; int32_t i; } u = {.f = x * 1.44269504088896341f + 12582912.0f};
  float n = u.f - 12582912.0f;
  int32_t ni = u.i - 0x4B400000;
  float r = x - n * 0.693359375f + n * 2.12194440e-4f;
  float p = 1.9875691500e-4f;
  p = p * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  p = p * r * r + r + 1.0f;
  // 2^n as two factors 2^(n/2) 2^(n - n/2), each a normal float for |n| <= 150
  int32_t n1 = ni / 2, n2 = ni - n1;
  union { int32_t i; float f; } s1 = {.i = (n1 + 127) << 23}, s2 = {.i = (n2 + 127) << 23};
  return p * s1.f * s2.f;
}

static inline float gw_erff(float a) {
  float x = a > 4.0f ? 4.0f : (a < -4.0f ? -4.0f : a);
  float x2 = x * x;
  float p = -2.72614225801306e-10f;
  p = p * x2 + 2.77068142495902e-08f;
  p = p * x2 - 2.10102402082508e-06f;
  p = p * x2 - 5.69250639462346e-05f;
  p = p * x2 - 7.34990630326855e-04f;
  p = p * x2 - 2.95459980854025e-03f;
  p = p * x2 - 1.60960333262415e-02f;
  p *= x;
  float q = -1.45660718464996e-05f;
  q = q * x2 - 2.13374055278905e-04f;
  q = q * x2 - 1.68282697438203e-03f;
  q = q * x2 - 7.37332916720468e-03f;
  q = q * x2 - 1.42647390514189e-02f;
  return p / q;
}

#endif
