// edgenas/search/time_budget.hpp — how many epochs of the final training fit in what a search's
// time budget left. The first plan comes from a timed sample before training; the epochs then
// run re-plan it at their own pace, because a sample misjudges the real epochs by several per cent
// (on the full preset 67 s an epoch against 64 s planned: 43 epochs ran 78 s over the hour).
#pragma once

#include <algorithm>
#include <cmath>

namespace edgenas::search {

/// The epochs that fit in `training_seconds` once `done` of them took `done_seconds`: the rest at
/// their mean pace, between `done` (stop now) and `most` (the configured count). Before the first
/// epoch has been timed the pace is unknown and `planned` stands.
inline int epochs_at_pace(int planned, int most, double training_seconds, int done, double done_seconds) {
  if (done < 1 || !(done_seconds > 0)) return planned;
  const double pace = done_seconds / done;
  const double more = std::floor((training_seconds - done_seconds) / pace);
  return static_cast<int>(
      std::clamp(done + more, static_cast<double>(done), static_cast<double>(std::max(done, most))));
}

}  // namespace edgenas::search
