// Tensor comparison helpers shared by every test.
//
// Tolerance rules used across the suite:
//  * "relative error" of `actual` against `expected` is max|actual - expected| / max|expected|
//    (a normalized max error: it does not blow up on entries near zero). Parity tests in fp32
//    state their bound in these terms (1e-4 for model parity against the Python references).
//  * Low-precision paths (bf16/fp16) are judged against an fp32 reference by comparing with the
//    error of the same computation done by plain ATen in that low precision:
//    err(candidate) <= factor * err(aten_low_precision) + atol.
#pragma once

#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <string>

namespace gallop::testing {

// max|a - b| / max(max|b|, tiny), computed in float64.
double relative_error(const at::Tensor& actual, const at::Tensor& expected);
double max_abs_error(const at::Tensor& actual, const at::Tensor& expected);

// Checks shape equality and relative_error(actual, expected) <= rtol.
::testing::AssertionResult RelClose(const at::Tensor& actual, const at::Tensor& expected, double rtol);

// Checks identical shape, dtype and every element bit-for-bit equal.
::testing::AssertionResult Identical(const at::Tensor& actual, const at::Tensor& expected);

// err(candidate vs reference) <= factor * err(baseline vs reference) + atol (max-abs errors).
::testing::AssertionResult WithinBaselineError(const at::Tensor& candidate, const at::Tensor& baseline,
                                               const at::Tensor& reference, double factor, double atol);

}  // namespace gallop::testing

#define EXPECT_REL_CLOSE(actual, expected, rtol) EXPECT_TRUE(::gallop::testing::RelClose(actual, expected, rtol))
#define ASSERT_REL_CLOSE(actual, expected, rtol) ASSERT_TRUE(::gallop::testing::RelClose(actual, expected, rtol))
