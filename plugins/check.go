package plugins

import (
	"fmt"
	"strings"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"

	"github.com/wayline/wayline/sdk/abi"
)

// hostSignatures are the host functions a guest may import, with their signatures.
var hostSignatures = map[string]struct{ params, results []api.ValueType }{
	abi.HostLog:         {[]api.ValueType{i32, i32, i32}, nil},
	abi.HostError:       {[]api.ValueType{i32, i32, i32}, nil},
	abi.HostNowUnixNano: {nil, []api.ValueType{i64}},
	abi.HostConfigGet:   {[]api.ValueType{i32, i32}, []api.ValueType{i32}},
	abi.HostSecretGet:   {[]api.ValueType{i32, i32}, []api.ValueType{i32}},
	abi.HostKVGet:       {[]api.ValueType{i32, i32}, []api.ValueType{i32}},
	abi.HostKVSet:       {[]api.ValueType{i32, i32, i32, i32}, []api.ValueType{i32}},
	abi.HostKVDelete:    {[]api.ValueType{i32, i32}, []api.ValueType{i32}},
	abi.HostHTTPRequest: {[]api.ValueType{i32, i32}, []api.ValueType{i32}},
	abi.HostTakeResult:  {[]api.ValueType{i32, i32}, []api.ValueType{i32}},
}

const (
	i32 = api.ValueTypeI32
	i64 = api.ValueTypeI64
)

// guestExports are the exports the host calls, with their signatures.
var guestExports = map[string]struct{ params, results []api.ValueType }{
	abi.ExportAlloc:          {[]api.ValueType{i32}, []api.ValueType{i32}},
	abi.ExportFree:           {[]api.ValueType{i32, i32}, nil},
	abi.ExportInitialize:     {nil, nil},
	abi.ExportCondition:      {[]api.ValueType{i32, i32}, []api.ValueType{i64}},
	abi.ExportConditionBatch: {[]api.ValueType{i32, i32}, []api.ValueType{i64}},
	abi.ExportDataSource:     {[]api.ValueType{i32, i32}, []api.ValueType{i64}},
	abi.ExportAction:         {[]api.ValueType{i32, i32}, []api.ValueType{i64}},
}

// checkModule refuses a compiled module that does not fit the ABI or the manifest: a missing
// version marker, alloc/free or handler, an export of the wrong shape, or an import the host
// does not offer (sockets, anything outside the wayline and WASI modules, imported memory).
func checkModule(cm wazero.CompiledModule, m *Manifest) error {
	exports := cm.ExportedFunctions()
	if _, ok := exports[abi.VersionMarker]; !ok {
		for name := range exports {
			if v, ok := strings.CutPrefix(name, abi.VersionMarkerPrefix); ok {
				return &FieldError{"module", fmt.Sprintf("built for plugin ABI version %s; this Wayline speaks version %d — rebuild with a matching SDK", v, abi.Version)}
			}
		}
		return &FieldError{"module", fmt.Sprintf("does not export %s: it was not built with a Wayline plugin SDK (see sdk/ABI.md)", abi.VersionMarker)}
	}
	if len(cm.ExportedMemories()) == 0 {
		return &FieldError{"module", "exports no memory; the host exchanges input and output through the guest's memory export \"memory\""}
	}
	if _, ok := cm.ExportedMemories()[abi.ExportMemory]; !ok {
		return &FieldError{"module", "exports no memory named \"memory\""}
	}
	need := []string{abi.ExportAlloc, abi.ExportFree}
	for _, k := range m.Kinds {
		need = append(need, abi.HandlerExport(k))
	}
	for _, name := range need {
		if _, ok := exports[name]; !ok {
			return &FieldError{"module", fmt.Sprintf("does not export %s, which %s needs", name, needWhy(name, m))}
		}
	}
	for name, want := range guestExports {
		def, ok := exports[name]
		if !ok {
			continue
		}
		if !sameTypes(def.ParamTypes(), want.params) || !sameTypes(def.ResultTypes(), want.results) {
			return &FieldError{"module", fmt.Sprintf("export %s has signature %s; the ABI wants %s", name, sig(def.ParamTypes(), def.ResultTypes()), sig(want.params, want.results))}
		}
	}
	for _, def := range cm.ImportedFunctions() {
		mod, name, _ := def.Import()
		switch mod {
		case abi.HostModule:
			want, ok := hostSignatures[name]
			if !ok {
				return &FieldError{"module", fmt.Sprintf("imports %s.%s, which the host does not offer (see sdk/ABI.md, Host functions)", mod, name)}
			}
			if !sameTypes(def.ParamTypes(), want.params) || !sameTypes(def.ResultTypes(), want.results) {
				return &FieldError{"module", fmt.Sprintf("imports %s.%s as %s; the host offers %s", mod, name, sig(def.ParamTypes(), def.ResultTypes()), sig(want.params, want.results))}
			}
		case abi.WASIModule:
			if strings.HasPrefix(name, "sock_") {
				return &FieldError{"module", fmt.Sprintf("imports %s.%s: plugins have no sockets; make HTTP calls through the host's http_request", mod, name)}
			}
		default:
			return &FieldError{"module", fmt.Sprintf("imports %s.%s: a plugin may import only from %q and %q", mod, name, abi.HostModule, abi.WASIModule)}
		}
	}
	for _, def := range cm.ImportedMemories() {
		mod, name, _ := def.Import()
		return &FieldError{"module", fmt.Sprintf("imports memory %s.%s: a plugin must define and export its own memory", mod, name)}
	}
	return nil
}

func needWhy(export string, m *Manifest) string {
	switch export {
	case abi.ExportAlloc, abi.ExportFree:
		return "every plugin"
	}
	for _, k := range m.Kinds {
		if abi.HandlerExport(k) == export {
			return "the manifest's kind " + k
		}
	}
	return "the manifest"
}

func sameTypes(a, b []api.ValueType) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func sig(params, results []api.ValueType) string {
	name := func(ts []api.ValueType) string {
		parts := make([]string, len(ts))
		for i, t := range ts {
			parts[i] = api.ValueTypeName(t)
		}
		return "(" + strings.Join(parts, ", ") + ")"
	}
	return name(params) + " -> " + name(results)
}
