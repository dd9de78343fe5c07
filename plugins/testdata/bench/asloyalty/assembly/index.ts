// asloyalty: the AssemblyScript twin of the Rust loyalty-tier example, for the per-language
// condition benchmark: is the profile's tier (from its points) at least the configured one?
export * from "@wayline/plugin-sdk/assembly/exports/condition";

import { ConditionInput, ConditionResult, ErrorCode, registerCondition } from "@wayline/plugin-sdk/assembly";

registerCondition(tier);

function tier(input: ConditionInput): ConditionResult {
  const name = input.config.getString("tier");
  let min: f64 = 0;
  if (name == "gold") min = 1000;
  else if (name == "silver") min = 500;
  else if (name != "bronze") return ConditionResult.fail(ErrorCode.InvalidConfig, "config.tier must be bronze, silver or gold");
  const points = input.profile.attributes.getNumber("points");
  return ConditionResult.of(points >= min);
}
