#include "engine/core/progress.h"

#include "engine/core/error.h"

namespace gallop {

Progress& null_progress() {
  static Progress p;
  return p;
}

void throw_if_cancelled(const Progress& progress) {
  if (progress.cancelled()) fail(ErrorKind::Cancelled, "cancelled by the user");
}

}  // namespace gallop
