#include "broker/core/observer.h"

namespace liaison::broker {

const char* FlowStepLabel(FlowStep step) {
  switch (step) {
    case FlowStep::kDecided:
      return "decided";
    case FlowStep::kReleased:
      return "released";
    case FlowStep::kHoldTimeout:
      return "hold-timeout";
    case FlowStep::kExpiredBeforeDelivery:
      return "expired-before-delivery";
  }
  return "unknown";
}

const char* LossSourceLabel(LossSource source) {
  switch (source) {
    case LossSource::kIngress:
      return "ingress";
    case LossSource::kDeliver:
      return "deliver";
    case LossSource::kForged:
      return "forged";
  }
  return "unknown";
}

}  // namespace liaison::broker
