package journey

import (
	"encoding/json"
	"strings"
	"sync"

	"github.com/wayline/wayline/runtime/apierr"
	"github.com/wayline/wayline/runtime/model"
	"github.com/wayline/wayline/runtime/schema"
)

// configSchemas caches each plugin version's compiled config schema by module sha256: the
// catalog recompiles every journey on each metadata change, and a version never changes.
var configSchemas sync.Map // sha256 → *schema.Schema (nil: the manifest declares none)

func configSchemaOf(v model.PluginVersion) (*schema.Schema, error) {
	if s, ok := configSchemas.Load(v.SHA256); ok {
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
	configSchemas.Store(v.SHA256, s)
	return s, nil
}

// checkPluginConfig validates a use's config against the plugin's configSchema, so a missing
// or mistyped setting is reported at validate and publish, not at the first call.
func (c *compiler) checkPluginConfig(v model.PluginVersion, cfg []byte, f, nodeID, name string) {
	s, err := configSchemaOf(v)
	if err != nil || s == nil {
		return // a manifest the upload accepted; nothing declared to check against
	}
	var data any
	if err := json.Unmarshal(cfg, &data); err != nil {
		return // pluginUse reports a config that is not an object
	}
	for _, e := range s.Validate(data) {
		msg := e.Message
		field := f + ".config" + strings.TrimPrefix(e.Field, "data")
		c.errs = append(c.errs, &apierr.Error{Status: 422, Code: apierr.JourneyInvalid, Field: field,
			Message: "node " + nodeID + ": plugin " + name + " config: " + msg})
	}
}
