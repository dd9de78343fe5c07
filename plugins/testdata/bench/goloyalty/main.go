// Command goloyalty is the Go twin of the Rust loyalty-tier example, for the per-language
// condition benchmark: is the profile's tier (from its points) at least the configured one?
package main

import (
	"fmt"

	wayline "github.com/wayline/wayline/sdk/go"
)

var thresholds = map[string]float64{"bronze": 0, "silver": 500, "gold": 1000}

func init() {
	wayline.HandleCondition(func(in *wayline.ConditionInput) (wayline.ConditionOutput, error) {
		var cfg struct {
			Tier string `json:"tier"`
		}
		if err := wayline.DecodeConfig(in.Config, &cfg); err != nil {
			return wayline.ConditionOutput{}, err
		}
		min, ok := thresholds[cfg.Tier]
		if !ok {
			return wayline.ConditionOutput{}, wayline.InvalidConfig("config.tier must be bronze, silver or gold, not %q", cfg.Tier)
		}
		points, _ := in.Profile.Attributes["points"].(float64)
		return wayline.ConditionOutput{Result: points >= min, Reason: fmt.Sprintf("points %g", points)}, nil
	})
}

func main() {}
