// Types shared by the video/image readers and writers, and whether this build can do media I/O.
#pragma once

#include <cstdint>
#include <string>

namespace gallop::engine {

// A frame rate as an exact rational, num/den frames per second (16 fps is {16, 1}; NTSC is
// {30000, 1001}). Implicit from an int so that `options.fps = 16` reads naturally.
struct FrameRate {
  int num = 16;
  int den = 1;

  FrameRate() = default;
  FrameRate(int fps) : num(fps), den(1) {}  // NOLINT(google-explicit-constructor)
  FrameRate(int numerator, int denominator) : num(numerator), den(denominator) {}

  double value() const { return static_cast<double>(num) / den; }
  std::string to_string() const;  // "16" or "30000/1001"
};

inline bool operator==(const FrameRate& a, const FrameRate& b) {
  return static_cast<int64_t>(a.num) * b.den == static_cast<int64_t>(b.num) * a.den;
}
inline bool operator!=(const FrameRate& a, const FrameRate& b) { return !(a == b); }

// True when this build links FFmpeg. Without it every function of engine/io throws
// gallop::Error(Unsupported).
bool media_io_available();

}  // namespace gallop::engine
