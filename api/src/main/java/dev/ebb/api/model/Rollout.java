package dev.ebb.api.model;

import java.util.Objects;
import java.util.Optional;

/**
 * Which backend is stable, which (optional) one is the canary, and the canary's share of NEW streams
 * in basis points (1/100 of a percent, so 0..10000): two-decimal percentages are exact integers.
 */
public record Rollout(String stable, Optional<String> canary, int canaryWeightBasisPoints) {
  public static final int TOTAL_WEIGHT = 10_000;

  public Rollout {
    Objects.requireNonNull(stable, "stable");
    Objects.requireNonNull(canary, "canary");
    if (canaryWeightBasisPoints < 0 || canaryWeightBasisPoints > TOTAL_WEIGHT) {
      throw new IllegalArgumentException("canary weight out of range: " + canaryWeightBasisPoints);
    }
    if (canary.isEmpty() && canaryWeightBasisPoints != 0) {
      throw new IllegalArgumentException("canary weight without canary");
    }
  }

  public static Rollout stableOnly(String stable) {
    return new Rollout(stable, Optional.empty(), 0);
  }

  public int stableWeightBasisPoints() {
    return TOTAL_WEIGHT - canaryWeightBasisPoints;
  }
}
