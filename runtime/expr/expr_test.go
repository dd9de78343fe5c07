package expr

import (
	"errors"
	"hash/fnv"
	"math"
	"net/http"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wayline/wayline/runtime/apierr"
)

var testNow = time.Date(2025, 3, 14, 9, 26, 53, 0, time.UTC)

// declared is a schema as the Options callbacks see it: dotted paths.
func declared(paths ...string) func([]string) bool {
	set := map[string]bool{}
	for _, p := range paths {
		set[p] = true
	}
	return func(path []string) bool { return set[strings.Join(path, ".")] }
}

func checkedEnv(t testing.TB) *Env {
	t.Helper()
	env, err := NewEnv(Options{
		KnownEventField:   declared("amount", "plan", "email", "items", "customer", "customer.email", "count", "at", "flag"),
		KnownProfileField: declared("country", "name", "age", "tags"),
	})
	if err != nil {
		t.Fatal(err)
	}
	return env
}

func testActivation() *Activation {
	return &Activation{
		Event: map[string]any{
			"id":        "evt-1",
			"type":      "purchase",
			"timestamp": testNow.Add(-time.Hour),
			"identity":  "user:42",
			"data": map[string]any{
				"amount":   12.5,
				"plan":     "pro",
				"email":    "ada@example.com",
				"count":    3.0,
				"at":       "2025-04-01T10:00:00Z",
				"flag":     true,
				"items":    []any{map[string]any{"sku": "a", "price": 5.0}, map[string]any{"sku": "b", "price": 7.5}},
				"customer": map[string]any{"email": "c@example.com"},
			},
		},
		Profile: map[string]any{
			"id":         "user:42",
			"identities": []any{"user:42", "email:ada@example.com"},
			"attributes": map[string]any{"country": "FR", "name": "Ada", "age": 36.0, "tags": []any{"vip"}},
		},
		Vars:    map[string]any{"step": int64(2), "label": "x"},
		Journey: map[string]any{"id": "j1", "version": int64(3), "name": "Welcome", "nodeId": "n1"},
		Now:     testNow,
	}
}

func TestCompileErrors(t *testing.T) {
	env := checkedEnv(t)
	tests := []struct {
		name string
		kind string // bool, time, value
		src  string
		want string // a part of the message
	}{
		{"empty", "value", "  ", "the expression is empty"},
		{"syntax error", "bool", "event.data.amount >", "1:20: Syntax error"},
		{"syntax error on line 2", "bool", "true &&\n  (", "2:4: Syntax error"},
		{"unknown variable", "bool", "foo == 1", "1:1: undeclared reference to 'foo'"},
		{"unknown variable on line 2", "value", "1 +\n  foo", "2:3: undeclared reference to 'foo'"},
		{"bool wants bool not string", "bool", `"yes"`, "must be a bool (a condition), not string"},
		{"bool wants bool not int", "bool", `1 + 2`, "must be a bool (a condition), not int"},
		{"timestamp wants timestamp not int", "time", `42`, "must be a timestamp or an RFC 3339 string, not int"},
		{"timestamp wants timestamp not duration", "time", `duration("1h")`, "not google.protobuf.Duration"},
		{"static type mismatch", "bool", `"a" > 1`, "no matching overload for '_>_' applied to '(string, int)'"},
		{"static int double equality", "bool", `1.0 == 1`, "no matching overload for '_==_'"},
		{"unknown event field", "bool", `event.data.plna == "pro"`, "1:1: unknown field event.data.plna: not declared in the event schema"},
		{"unknown nested event field", "bool", `event.data.customer.emial != ""`, "unknown field event.data.customer.emial"},
		{"unknown event field in has", "bool", `has(event.data.plna)`, "1:5: unknown field event.data.plna"},
		{"unknown event field by index", "value", `event.data["plna"]`, "unknown field event.data.plna"},
		{"unknown event field by optional select", "value", `event.data.?plna.orValue("free")`, "unknown field event.data.plna"},
		{"unknown profile field", "bool", `profile.attributes.cuntry == "FR"`, "unknown field profile.attributes.cuntry: not declared in the profile schema"},
		{"unknown field inside a macro", "bool", `event.data.items.exists(i, profile.attributes.nmae == i.sku)`, "unknown field profile.attributes.nmae"},
		{"unknown field, second line", "bool", "true &&\n event.data.nope", "2:2: unknown field event.data.nope"},
		{"two unknown fields", "bool", `event.data.a == profile.attributes.b`, "unknown field event.data.a: not declared in the event schema; 1:17: unknown field profile.attributes.b"},
		{"too long", "value", strings.Repeat("1 + ", 3000) + "1", "expression code point size exceeds limit"},
		{"wrong hash_percent argument", "value", `hash_percent(1)`, "found no matching overload for 'hash_percent'"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var err error
			switch tt.kind {
			case "bool":
				_, err = env.CompileBool(tt.src)
			case "time":
				_, err = env.CompileTimestamp(tt.src)
			default:
				_, err = env.CompileValue(tt.src)
			}
			if err == nil {
				t.Fatalf("compiling %q: no error, want one containing %q", tt.src, tt.want)
			}
			var ae *apierr.Error
			if !errors.As(err, &ae) {
				t.Fatalf("compiling %q: error %T %v, want an *apierr.Error", tt.src, err, err)
			}
			if ae.Status != http.StatusUnprocessableEntity || ae.Code != apierr.InvalidExpression || ae.Field != "" {
				t.Errorf("compiling %q: status %d code %q field %q, want 422 %q and no field", tt.src, ae.Status, ae.Code, ae.Field, apierr.InvalidExpression)
			}
			if !strings.Contains(ae.Message, tt.want) {
				t.Errorf("compiling %q: message %q does not contain %q", tt.src, ae.Message, tt.want)
			}
		})
	}
}

func TestCompileAccepts(t *testing.T) {
	env := checkedEnv(t)
	for _, src := range []string{
		`event.data.amount > 10`,
		`event.data.customer.email.endsWith("@example.com")`,
		`event.data["plan"] == "pro"`,
		`event.data[vars.label] == 1`, // a dynamic index cannot be checked
		`event.data.items.all(i, i.price > 0.0)`,
		`[{"data": {"x": 1}}].exists(event, event.data.x == 1)`, // a macro variable shadows event
		`has(profile.attributes.country) && profile.attributes.country in ["FR", "DE"]`,
		`event.type == "purchase" && event.id != "" && profile.id == event.identity`,
		`journey.version > 1 && journey.nodeId == "n1"`,
		`hash_percent(profile.id + journey.id) < 50`,
		`event.timestamp + duration("2h") > now`,
		`now.getHours() >= 9`,
		`profile.attributes.name.lowerAscii().startsWith("a")`,
		`math.greatest(event.data.amount, 1.0) > 1.0`,
		`event.data.?plan.orValue("free") == "pro"`,
		`event.data.flag`, // dyn
		`1.5 > 1`,         // cross-type ordering type-checks
	} {
		if _, err := env.CompileBool(src); err != nil {
			t.Errorf("CompileBool(%q): %v", src, err)
		}
	}
	unchecked, err := NewEnv(Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := unchecked.CompileBool(`event.data.anything == profile.attributes.whatever`); err != nil {
		t.Errorf("with no field checks: %v", err)
	}
	for _, src := range []string{`now + duration("2h")`, `event.data.at`, `timestamp(event.data.at)`, `"2025-01-01T00:00:00Z"`} {
		if _, err := env.CompileTimestamp(src); err != nil {
			t.Errorf("CompileTimestamp(%q): %v", src, err)
		}
	}
}

func TestFieldCheckPaths(t *testing.T) {
	var got [][]string
	env, err := NewEnv(Options{KnownEventField: func(p []string) bool {
		got = append(got, append([]string(nil), p...))
		return true
	}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := env.CompileBool(`event.data.a.b["c"].d == 1 && event.data.x[0].y == 2 && event.data.z.size() > 0 && event.id == ""`); err != nil {
		t.Fatal(err)
	}
	want := [][]string{{"a", "b", "c", "d"}, {"x"}, {"z"}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("paths checked: %q, want %q", got, want)
	}
}

func TestEvalBool(t *testing.T) {
	env := checkedEnv(t)
	tests := []struct {
		src     string
		want    bool
		wantErr string
	}{
		{src: `profile.attributes.country == "FR" && event.data.amount > 10.0`, want: true},
		{src: `event.data.amount > 10`, want: true}, // double > int at run time
		{src: `event.data.amount < 13`, want: true}, // double < int
		{src: `event.data.count == 3`, want: true},  // heterogeneous equality: 3.0 == 3
		{src: `event.data.count in [1, 2, 3]`, want: true},
		{src: `vars.step > 1.5`, want: true}, // int64 input against a double
		{src: `profile.attributes.age >= 18`, want: true},
		{src: `has(event.data.plan)`, want: true},
		{src: `has(event.data.customer.email)`, want: true},
		{src: `has(event.data.email) && !has(profile.attributes.tags)`, want: false},
		{src: `has(profile.attributes.name)`, want: true},
		{src: `event.timestamp < now`, want: true},
		{src: `now == timestamp("2025-03-14T09:26:53Z")`, want: true},
		{src: `now.getHours() == 9`, want: true},
		{src: `event.data.items.exists(i, i.sku == "b" && i.price > 7)`, want: true},
		{src: `"vip" in profile.attributes.tags`, want: true},
		{src: `journey.version == 3 && journey.name == "Welcome"`, want: true},
		{src: `event.data.?plan.orValue("free") == "pro"`, want: true},
		{src: `event.data.flag`, want: true},
		{src: `event.data.customer.email.endsWith("@example.com")`, want: true},
		{src: `event.data.plan`, wantErr: "got a string, want a bool"},
		{src: `event.data.customer.email == 1 || event.data.amount + 1 > 0`, wantErr: "no such overload"},
		{src: `profile.attributes.name.size() > 0 && profile.attributes.country.startsWith(1 == 1 ? "F" : "G")`, want: true},
	}
	a := testActivation()
	for _, tt := range tests {
		p, err := env.CompileBool(tt.src)
		if err != nil {
			t.Errorf("CompileBool(%q): %v", tt.src, err)
			continue
		}
		if p.Source() != tt.src {
			t.Errorf("Source() = %q, want %q", p.Source(), tt.src)
		}
		got, err := p.EvalBool(a)
		switch {
		case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
			t.Errorf("EvalBool(%q) = %v, %v; want an error containing %q", tt.src, got, err, tt.wantErr)
		case tt.wantErr == "" && err != nil:
			t.Errorf("EvalBool(%q): %v", tt.src, err)
		case tt.wantErr == "" && got != tt.want:
			t.Errorf("EvalBool(%q) = %v, want %v", tt.src, got, tt.want)
		}
	}
}

func TestEvalErrorsDoNotPanic(t *testing.T) {
	env, err := NewEnv(Options{})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		src     string
		act     *Activation
		wantErr string
	}{
		{`event.data.missing == 1`, testActivation(), "no such key: missing"},
		{`profile.attributes.x.y == 1`, testActivation(), "no such key: x"},
		{`event.data.plan.size() > event.data.amount.size()`, testActivation(), "no such overload"},
		{`event.data.items[5].sku == "a"`, testActivation(), "index out of bounds"},
		{`event.data.x == 1`, &Activation{}, "no such key: data"},
		{`event.data.x == 1`, nil, "no such key: data"},
		{`vars.n / 0 == 1`, &Activation{Vars: map[string]any{"n": int64(1)}}, "division by zero"},
		{`int(vars.big) > 0`, &Activation{Vars: map[string]any{"big": 1e300}}, "integer overflow"},
		{`[1,2,3,4,5,6,7,8,9,10].all(a, [1,2,3,4,5,6,7,8,9,10].all(b, [1,2,3,4,5,6,7,8,9,10].all(c, [1,2,3,4,5,6,7,8,9,10].all(d, [1,2,3,4,5,6,7,8,9,10].all(e, a+b+c+d+e > 0)))))`, testActivation(), "more than 5000 comprehension iterations"},
		{`vars.s.replace("", vars.s).replace("", vars.s).replace("", vars.s) != ""`, &Activation{Vars: map[string]any{"s": strings.Repeat("x", 50)}}, "cost limit exceeded"},
	}
	for _, tt := range tests {
		p, err := env.CompileBool(tt.src)
		if err != nil {
			t.Errorf("CompileBool(%q): %v", tt.src, err)
			continue
		}
		got, err := p.EvalBool(tt.act)
		if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
			t.Errorf("EvalBool(%q) = %v, %v; want an error containing %q", tt.src, got, err, tt.wantErr)
		}
		if err != nil && !strings.Contains(err.Error(), strconv.Quote(tt.src)) {
			t.Errorf("EvalBool(%q): error %q does not name the expression", tt.src, err)
		}
	}
}

func TestNowDefaultsToClock(t *testing.T) {
	env := checkedEnv(t)
	p, err := env.CompileTimestamp(`now`)
	if err != nil {
		t.Fatal(err)
	}
	before := time.Now()
	got, err := p.EvalTime(&Activation{})
	if err != nil {
		t.Fatal(err)
	}
	if got.Before(before.Add(-time.Second)) || got.After(time.Now().Add(time.Second)) {
		t.Errorf("now with a zero Activation.Now = %v, want about %v", got, before)
	}
}

func TestEvalTime(t *testing.T) {
	env := checkedEnv(t)
	tests := []struct {
		src     string
		want    time.Time
		wantErr string
	}{
		{src: `now + duration("2h")`, want: testNow.Add(2 * time.Hour)},
		{src: `event.timestamp`, want: testNow.Add(-time.Hour)},
		{src: `event.data.at`, want: time.Date(2025, 4, 1, 10, 0, 0, 0, time.UTC)},
		{src: `"2025-04-01T12:00:00.5+02:00"`, want: time.Date(2025, 4, 1, 10, 0, 0, 5e8, time.UTC)},
		{src: `timestamp(event.data.at) - duration("30m")`, want: time.Date(2025, 4, 1, 9, 30, 0, 0, time.UTC)},
		{src: `event.data.plan`, wantErr: `"pro" is not an RFC 3339 time`},
		{src: `event.data.amount`, wantErr: "got a double, want a timestamp"},
		{src: `event.data.nope`, wantErr: "no such key"},
	}
	unchecked, _ := NewEnv(Options{})
	a := testActivation()
	for _, tt := range tests {
		e := env
		if tt.src == `event.data.nope` {
			e = unchecked
		}
		p, err := e.CompileTimestamp(tt.src)
		if err != nil {
			t.Errorf("CompileTimestamp(%q): %v", tt.src, err)
			continue
		}
		got, err := p.EvalTime(a)
		switch {
		case tt.wantErr != "":
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("EvalTime(%q) = %v, %v; want an error containing %q", tt.src, got, err, tt.wantErr)
			}
		case err != nil:
			t.Errorf("EvalTime(%q): %v", tt.src, err)
		case !got.Equal(tt.want):
			t.Errorf("EvalTime(%q) = %v, want %v", tt.src, got, tt.want)
		}
	}
}

func TestEvalValue(t *testing.T) {
	env := checkedEnv(t)
	tests := []struct {
		src     string
		want    any
		wantErr string
	}{
		{src: `1 + 2`, want: int64(3)},
		{src: `event.data.amount * 2.0`, want: 25.0},
		{src: `int(event.data.amount) + 1`, want: int64(13)},
		{src: `42u`, want: int64(42)},
		{src: `"a" + profile.attributes.name`, want: "aAda"},
		{src: `null`, want: nil},
		{src: `event.data.flag`, want: true},
		{src: `b"hi"`, want: "aGk="},
		{src: `event.timestamp`, want: "2025-03-14T08:26:53Z"},
		{src: `duration("90m")`, want: "5400s"},
		{src: `type(1)`, want: "int"},
		{src: `event.data.?nothing`, want: nil, wantErr: "unknown field"},
		{src: `profile.attributes.?name`, want: "Ada"},
		{src: `[1, "a", 2.5, [true]]`, want: []any{int64(1), "a", 2.5, []any{true}}},
		{src: `{"a": 1, 2: "b", true: now}`, want: map[string]any{"a": int64(1), "2": "b", "true": "2025-03-14T09:26:53Z"}},
		{src: `event.data.items.map(i, i.sku)`, want: []any{"a", "b"}},
		{src: `event.data.customer`, want: map[string]any{"email": "c@example.com"}},
		{src: `event.data.items[1]`, want: map[string]any{"sku": "b", "price": 7.5}},
		{src: `profile.identities`, want: []any{"user:42", "email:ada@example.com"}},
		{src: `{"when": event.timestamp, "tags": profile.attributes.tags}`, want: map[string]any{"when": "2025-03-14T08:26:53Z", "tags": []any{"vip"}}},
		{src: `math.sqrt(-1.0)`, wantErr: "NaN cannot be turned into JSON"},
		{src: `hash_percent("")`, want: int64(hashPercent(""))},
		{src: `"%s has %d".format([profile.attributes.name, 3])`, want: "Ada has 3"},
	}
	a := testActivation()
	for _, tt := range tests {
		p, err := env.CompileValue(tt.src)
		if err != nil {
			if tt.wantErr == "" || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("CompileValue(%q): %v", tt.src, err)
			}
			continue
		}
		got, err := p.EvalValue(a)
		switch {
		case tt.wantErr != "":
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("EvalValue(%q) = %#v, %v; want an error containing %q", tt.src, got, err, tt.wantErr)
			}
		case err != nil:
			t.Errorf("EvalValue(%q): %v", tt.src, err)
		case !reflect.DeepEqual(got, tt.want):
			t.Errorf("EvalValue(%q) = %#v, want %#v", tt.src, got, tt.want)
		}
	}
}

func TestEvalValueDoesNotAliasInput(t *testing.T) {
	env := checkedEnv(t)
	p, err := env.CompileValue(`event.data.customer`)
	if err != nil {
		t.Fatal(err)
	}
	a := testActivation()
	v, err := p.EvalValue(a)
	if err != nil {
		t.Fatal(err)
	}
	v.(map[string]any)["email"] = "changed"
	if got := a.Event["data"].(map[string]any)["customer"].(map[string]any)["email"]; got != "c@example.com" {
		t.Errorf("changing EvalValue's result changed the activation: email = %v", got)
	}
}

func TestHashPercent(t *testing.T) {
	for _, s := range []string{"", "a", "user:42", "email:ada@example.com", "日本"} {
		h := fnv.New64a()
		h.Write([]byte(s))
		if got, want := hashPercent(s), int(h.Sum64()%100); got != want {
			t.Errorf("hashPercent(%q) = %d, want FNV-1a 64 %% 100 = %d", s, got, want)
		}
	}
	// Sequential ids must spread evenly enough for splits.
	var buckets [100]int
	const n = 100_000
	for i := range n {
		buckets[hashPercent("user:"+itoa(i))]++
	}
	for b, c := range buckets {
		if math.Abs(float64(c)-n/100) > n/100*0.15 {
			t.Errorf("bucket %d holds %d of %d sequential ids, want about %d", b, c, n, n/100)
		}
	}
}

func itoa(i int) string {
	if i == 0 {
		return "0"
	}
	var b []byte
	for ; i > 0; i /= 10 {
		b = append([]byte{byte('0' + i%10)}, b...)
	}
	return string(b)
}

func TestConcurrentEval(t *testing.T) {
	env := checkedEnv(t)
	p, err := env.CompileBool(`profile.attributes.country == "FR" && event.data.amount > 10.0 && now > event.timestamp`)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			a := testActivation()
			for range 500 {
				if ok, err := p.EvalBool(a); !ok || err != nil {
					t.Errorf("EvalBool = %v, %v; want true", ok, err)
					return
				}
			}
		}()
	}
	wg.Wait()
}

func TestEvaluationBounds(t *testing.T) {
	env, err := NewEnv(Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		src     string
		tracked bool
	}{
		{`profile.attributes.country == "FR" && event.data.amount > 10.0`, false},
		{`event.data.email.contains("@") && event.data.email.lowerAscii().endsWith(".fr")`, false},
		{`event.data.items.exists(i, i.price > 1.0)`, true},
		{`[1, 2].exists(x, x == 2)`, true},
		{`event.data.s.replace("", event.data.s).replace("", event.data.s).size() > 0`, true},
	} {
		p, err := env.CompileBool(tt.src)
		if err != nil {
			t.Fatalf("CompileBool(%q): %v", tt.src, err)
		}
		if p.tracked != tt.tracked {
			t.Errorf("CompileBool(%q): cost tracking %v, want %v", tt.src, p.tracked, tt.tracked)
		}
	}

	a := testActivation()
	data := a.Event["data"].(map[string]any)
	data["small"] = make([]any, maxIterations)
	data["big"] = make([]any, maxIterations+1)
	data["s"] = strings.Repeat("abcdefghij", 10)
	for _, tt := range []struct {
		src     string
		want    bool
		wantErr string
	}{
		{src: `event.data.small.exists(x, x == 1)`, want: false},
		{src: `event.data.big.exists(x, x == 1)`, wantErr: "more than 5000 comprehension iterations"},
		{src: `event.data.small.exists(x, event.data.small.exists(y, y == 1))`, wantErr: "more than 5000 comprehension iterations"},
		{src: `event.data.s.replace("", event.data.s).replace("", event.data.s).replace("", event.data.s).size() > 0`, wantErr: "cost limit exceeded"},
	} {
		p, err := env.CompileBool(tt.src)
		if err != nil {
			t.Fatalf("CompileBool(%q): %v", tt.src, err)
		}
		got, err := p.EvalBool(a)
		switch {
		case tt.wantErr != "":
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("EvalBool(%q) = %v, %v; want an error containing %q", tt.src, got, err, tt.wantErr)
			}
		case err != nil || got != tt.want:
			t.Errorf("EvalBool(%q) = %v, %v; want %v", tt.src, got, err, tt.want)
		}
	}
}
