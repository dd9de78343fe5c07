// Command weather is an example data-source adapter: it serves the field groups "current"
// (temperature and conditions now) and "forecast" (tomorrow) for a city, read from a weather
// service through the host's HTTP client. A journey reads them as ds.weather.current.tempC.
//
// Build: GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -o weather.wasm .
package main

import (
	"encoding/json"
	"fmt"
	"net/url"
	"strings"

	wayline "github.com/wayline/wayline/sdk/go"
)

type config struct {
	BaseURL string `json:"baseUrl"`
	Units   string `json:"units"`
}

func init() { wayline.HandleDataSource(fetch) }

func fetch(in *wayline.DataSourceInput) (wayline.DataSourceOutput, error) {
	var cfg config
	if err := wayline.DecodeConfig(in.Config, &cfg); err != nil {
		return wayline.DataSourceOutput{}, err
	}
	if cfg.BaseURL == "" {
		return wayline.DataSourceOutput{}, wayline.InvalidConfig("config.baseUrl is required (the weather service, e.g. https://weather.example.com)")
	}
	if cfg.Units == "" {
		cfg.Units = "metric"
	}
	if cfg.Units != "metric" && cfg.Units != "imperial" {
		return wayline.DataSourceOutput{}, wayline.InvalidConfig("config.units must be metric or imperial, not %q", cfg.Units)
	}
	city, _ := in.Params["city"].(string)
	if strings.TrimSpace(city) == "" {
		return wayline.DataSourceOutput{}, wayline.InvalidInput("params.city is required: map it from the profile, e.g. profile.attributes.city")
	}
	var path string
	switch in.Group {
	case "current":
		path = "/v1/current"
	case "forecast":
		path = "/v1/forecast"
	default:
		return wayline.DataSourceOutput{}, wayline.InvalidInput("group %q is not served; use current or forecast", in.Group)
	}
	u := strings.TrimRight(cfg.BaseURL, "/") + path + "?city=" + url.QueryEscape(city) + "&units=" + cfg.Units
	headers := map[string]string{"Accept": "application/json"}
	if key, ok := wayline.Secret("apiKey"); ok {
		headers["Authorization"] = "Bearer " + key
	}
	resp, err := wayline.HTTP(wayline.HTTPRequest{Method: "GET", URL: u, Headers: headers})
	if err != nil {
		return wayline.DataSourceOutput{}, wayline.Upstream("weather service: %v", err)
	}
	switch {
	case resp.Status == 404:
		return wayline.DataSourceOutput{}, wayline.InvalidInput("the weather service does not know city %q", city)
	case resp.Status >= 300:
		return wayline.DataSourceOutput{}, wayline.Upstream("weather service answered %d", resp.Status)
	}
	var fields map[string]any
	if err := json.Unmarshal([]byte(resp.Body), &fields); err != nil {
		return wayline.DataSourceOutput{}, wayline.Upstream("weather service answered something that is not JSON: %v", err)
	}
	wayline.Log(1, fmt.Sprintf("weather %s for %s", in.Group, city))
	return wayline.DataSourceOutput{Fields: fields}, nil
}

func main() {}
