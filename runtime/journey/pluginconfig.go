package journey

import (
	"crypto/sha256"
	"encoding/json"
	"strings"
	"sync"

	"github.com/wayline/wayline/runtime/apierr"
	"github.com/wayline/wayline/runtime/model"
	"github.com/wayline/wayline/runtime/schema"
)

// configSchemas caches compiled config schemas by the manifest they come from: the catalog
// recompiles every journey on each metadata change, and a version's manifest never changes.
// Not by the module's hash: the same module may be uploaded under two manifests.
var configSchemas sync.Map // sha256 of the manifest → *schema.Schema (nil: it declares none)

func configSchemaOf(v model.PluginVersion) (*schema.Schema, error) {
	key := sha256.Sum256(v.Manifest)
	if s, ok := configSchemas.Load(key); ok {
		return s.(*schema.Schema), nil
	}
	var m struct {
		ConfigSchema json.RawMessage `json:"configSchema"`
	}
	if err := json.Unmarshal(v.Manifest, &m); err != nil {
		return nil, err
	}
	var s *schema.Schema
	if len(m.ConfigSchema) > 0 && string(m.ConfigSchema) != "null" {
		var err error
		if s, err = schema.Compile(m.ConfigSchema); err != nil {
			return nil, err
		}
	}
	configSchemas.Store(key, s)
	return s, nil
}

// ConfigProblem is one way a plugin use's config fails the plugin's configSchema: Field is the
// path inside the config ("" for the config as a whole, ".units" for a member), Message why.
type ConfigProblem struct {
	Field   string
	Message string
}

// CheckPluginConfig validates a plugin use's config (a JSON object) against the configSchema
// of the version's manifest, so that a missing or mistyped setting is reported when the journey,
// data source or action is saved, not at the first call. Nothing is reported when the manifest
// declares no schema, or when cfg is not JSON (the callers report that themselves).
func CheckPluginConfig(v model.PluginVersion, cfg []byte) []ConfigProblem {
	s, err := configSchemaOf(v)
	if err != nil || s == nil {
		return nil // a manifest the upload accepted; nothing declared to check against
	}
	if len(cfg) == 0 || string(cfg) == "null" {
		cfg = []byte("{}")
	}
	var data any
	if err := json.Unmarshal(cfg, &data); err != nil {
		return nil
	}
	var out []ConfigProblem
	for _, e := range s.Validate(data) {
		out = append(out, ConfigProblem{Field: strings.TrimPrefix(e.Field, "data"), Message: e.Message})
	}
	return out
}

// checkPluginConfig reports a journey node's plugin config that fails the plugin's configSchema.
func (c *compiler) checkPluginConfig(v model.PluginVersion, cfg []byte, f, nodeID, name string) {
	for _, p := range CheckPluginConfig(v, cfg) {
		c.errs = append(c.errs, &apierr.Error{Status: 422, Code: apierr.JourneyInvalid, Field: f + ".config" + p.Field,
			Message: "node " + nodeID + ": plugin " + name + " config: " + p.Message})
	}
}
