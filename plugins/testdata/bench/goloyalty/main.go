// Command goloyalty is the Go twin of the Rust loyalty-tier example, for the per-language
// condition benchmark: is the profile's tier (from its points) at least the configured one?
package main

import (
	"fmt"

	wayline "github.com/wayline/wayline/sdk/go"
)

var thresholds = map[string]float64{"bronze": 0, "silver": 500, "gold": 1000}

// input names only what the condition reads (wayline.HandleConditionOf decodes into it).
type input struct {
	Config struct {
		Tier string `json:"tier"`
	} `json:"config"`
	Profile struct {
		Attributes struct {
			Points float64 `json:"points"`
		} `json:"attributes"`
	} `json:"profile"`
}

func init() {
	wayline.HandleConditionOf(func(in *input) (wayline.ConditionOutput, error) {
		min, ok := thresholds[in.Config.Tier]
		if !ok {
			return wayline.ConditionOutput{}, wayline.InvalidConfig("config.tier must be bronze, silver or gold, not %q", in.Config.Tier)
		}
		points := in.Profile.Attributes.Points
		return wayline.ConditionOutput{Result: points >= min, Reason: fmt.Sprintf("points %g", points)}, nil
	})
}

func main() {}
