package journey

import (
	"fmt"
	"sync"
	"testing"
	"time"
	_ "time/tzdata" // the zones below, even where the system has no zone database

	"github.com/wayline/wayline/runtime/model"
)

func mustWindow(t *testing.T, tw model.TimeWindow) *Window {
	t.Helper()
	w, field, err := compileWindow(&tw)
	if err != nil {
		t.Fatalf("window %+v does not compile: %s: %v", tw, field, err)
	}
	return w
}

func utc(s string) time.Time {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return t
}

func TestWindowContains(t *testing.T) {
	officeParis := model.TimeWindow{Days: []string{"mon", "tue", "wed", "thu", "fri"}, Start: "09:00", End: "17:00", DefaultTimeZone: "Europe/Paris"}
	fridayNight := model.TimeWindow{Days: []string{"fri"}, Start: "22:00", End: "02:00"}
	sundayNight := model.TimeWindow{Days: []string{"sun"}, Start: "23:00", End: "01:00"}
	saturdayNight := model.TimeWindow{Days: []string{"sat"}, Start: "23:00", End: "01:00"}
	toMidnight := model.TimeWindow{Start: "22:00", End: "00:00"}
	saturdayMorning := model.TimeWindow{Days: []string{"sat"}, Start: "08:00", End: "10:00"}
	parisMorning := model.TimeWindow{Start: "08:00", End: "09:00", DefaultTimeZone: "Europe/Paris"}
	anyDay := model.TimeWindow{Start: "09:00", End: "17:00"}
	customAttr := model.TimeWindow{Start: "09:00", End: "17:00", TimeZoneAttribute: "tz"}

	noAttrs := map[string]any{}
	cases := []struct {
		name  string
		tw    model.TimeWindow
		now   time.Time
		attrs map[string]any
		want  bool
	}{
		// 2024-06-03 is a Monday; Paris is UTC+2 in June.
		{"paris office: 09:30 local", officeParis, utc("2024-06-03T07:30:00Z"), noAttrs, true},
		{"paris office: 08:59 local", officeParis, utc("2024-06-03T06:59:00Z"), noAttrs, false},
		{"paris office: start is inclusive", officeParis, utc("2024-06-03T07:00:00Z"), noAttrs, true},
		{"paris office: 16:59 local", officeParis, utc("2024-06-03T14:59:00Z"), noAttrs, true},
		{"paris office: end is exclusive", officeParis, utc("2024-06-03T15:00:00Z"), noAttrs, false},
		{"paris office: saturday", officeParis, utc("2024-06-08T10:00:00Z"), noAttrs, false},
		{"paris office: now in another location", officeParis, utc("2024-06-03T07:30:00Z").In(time.FixedZone("PDT", -7*3600)), noAttrs, true},
		// The profile's zone overrides the default: 09:00 in New York is 13:00 UTC (EDT).
		{"profile zone: 09:00 in New York", officeParis, utc("2024-06-03T13:00:00Z"), map[string]any{"timezone": "America/New_York"}, true},
		{"profile zone: 08:59 in New York", officeParis, utc("2024-06-03T12:59:00Z"), map[string]any{"timezone": "America/New_York"}, false},
		{"profile zone: 09:30 in Paris is 03:30 in New York", officeParis, utc("2024-06-03T07:30:00Z"), map[string]any{"timezone": "America/New_York"}, false},
		{"profile zone: half-hour offset", anyDay, utc("2024-06-03T03:30:00Z"), map[string]any{"timezone": "Asia/Kolkata"}, true},
		{"profile zone: half-hour offset, one minute early", anyDay, utc("2024-06-03T03:29:00Z"), map[string]any{"timezone": "Asia/Kolkata"}, false},
		{"unknown profile zone falls back", officeParis, utc("2024-06-03T07:30:00Z"), map[string]any{"timezone": "Mars/Olympus"}, true},
		{"non-string profile zone falls back", officeParis, utc("2024-06-03T07:30:00Z"), map[string]any{"timezone": 2}, true},
		{"empty profile zone falls back", officeParis, utc("2024-06-03T07:30:00Z"), map[string]any{"timezone": ""}, true},
		{"nil attributes fall back", officeParis, utc("2024-06-03T07:30:00Z"), nil, true},
		{"custom zone attribute", customAttr, utc("2024-06-03T13:30:00Z"), map[string]any{"tz": "America/New_York", "timezone": "Asia/Tokyo"}, true},
		{"custom zone attribute, other attribute ignored", customAttr, utc("2024-06-03T03:00:00Z"), map[string]any{"timezone": "Asia/Tokyo"}, false},
		{"default zone is UTC", anyDay, utc("2024-06-03T09:00:00Z"), noAttrs, true},
		// The day is the profile's local day: Friday 23:30 UTC is Saturday 08:30 in Tokyo.
		{"day in the profile's zone", saturdayMorning, utc("2024-06-07T23:30:00Z"), map[string]any{"timezone": "Asia/Tokyo"}, true},
		{"same instant in UTC is friday", saturdayMorning, utc("2024-06-07T23:30:00Z"), noAttrs, false},
		// Windows across midnight belong to the day they start.
		{"across midnight: friday 23:00", fridayNight, utc("2024-06-07T23:00:00Z"), noAttrs, true},
		{"across midnight: friday 22:00", fridayNight, utc("2024-06-07T22:00:00Z"), noAttrs, true},
		{"across midnight: friday 21:59", fridayNight, utc("2024-06-07T21:59:00Z"), noAttrs, false},
		{"across midnight: saturday 00:00", fridayNight, utc("2024-06-08T00:00:00Z"), noAttrs, true},
		{"across midnight: saturday 01:59", fridayNight, utc("2024-06-08T01:59:00Z"), noAttrs, true},
		{"across midnight: saturday 02:00", fridayNight, utc("2024-06-08T02:00:00Z"), noAttrs, false},
		{"across midnight: saturday 23:00", fridayNight, utc("2024-06-08T23:00:00Z"), noAttrs, false},
		{"across midnight: friday 01:00 belongs to thursday", fridayNight, utc("2024-06-07T01:00:00Z"), noAttrs, false},
		{"across midnight: sunday into monday", sundayNight, utc("2024-06-10T00:30:00Z"), noAttrs, true},
		{"across midnight: monday into tuesday", sundayNight, utc("2024-06-11T00:30:00Z"), noAttrs, false},
		{"across midnight: saturday into sunday", saturdayNight, utc("2024-06-09T00:30:00Z"), noAttrs, true},
		{"across midnight: saturday 23:30", saturdayNight, utc("2024-06-08T23:30:00Z"), noAttrs, true},
		{"across midnight in the profile's zone", fridayNight, utc("2024-06-07T21:30:00Z"), map[string]any{"timezone": "Europe/Paris"}, true},
		{"across midnight in the profile's zone, after the end", fridayNight, utc("2024-06-08T00:30:00Z"), map[string]any{"timezone": "Europe/Paris"}, false},
		{"to midnight: 23:59", toMidnight, utc("2024-06-07T23:59:00Z"), noAttrs, true},
		{"to midnight: 00:00", toMidnight, utc("2024-06-08T00:00:00Z"), noAttrs, false},
		{"to midnight: 21:59", toMidnight, utc("2024-06-07T21:59:00Z"), noAttrs, false},
		// The offset follows daylight saving: Paris moves from UTC+1 to UTC+2 on 2024-03-31.
		{"before DST: 07:30 UTC is 08:30 in Paris", parisMorning, utc("2024-03-30T07:30:00Z"), noAttrs, true},
		{"after DST: 07:30 UTC is 09:30 in Paris", parisMorning, utc("2024-03-31T07:30:00Z"), noAttrs, false},
		{"after DST: 06:30 UTC is 08:30 in Paris", parisMorning, utc("2024-03-31T06:30:00Z"), noAttrs, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			w := mustWindow(t, tc.tw)
			if got := w.Contains(tc.now, tc.attrs); got != tc.want {
				t.Errorf("window %+v at %s (attributes %v): Contains = %v, want %v",
					tc.tw, tc.now.Format(time.RFC3339), tc.attrs, got, tc.want)
			}
		})
	}
}

func TestWindowEveryDayWhenNoDays(t *testing.T) {
	w := mustWindow(t, model.TimeWindow{Start: "09:00", End: "10:00"})
	day := utc("2024-06-03T09:30:00Z")
	for i := 0; i < 7; i++ {
		now := day.AddDate(0, 0, i)
		if !w.Contains(now, nil) {
			t.Errorf("%s %s: a window with no days should hold every day", now.Weekday(), now.Format(time.RFC3339))
		}
	}
}

func TestCompileWindowDays(t *testing.T) {
	w := mustWindow(t, model.TimeWindow{Days: []string{"MON", " Wed ", "sun"}, Start: "9:05", End: "17:30"})
	for d := time.Sunday; d <= time.Saturday; d++ {
		want := d == time.Monday || d == time.Wednesday || d == time.Sunday
		if w.days[d] != want {
			t.Errorf("%s: in window = %v, want %v", d, w.days[d], want)
		}
	}
	if w.start != 9*60+5 || w.end != 17*60+30 {
		t.Errorf("start %d end %d, want %d and %d minutes", w.start, w.end, 9*60+5, 17*60+30)
	}
	if w.attribute != "timezone" || w.fallback != time.UTC {
		t.Errorf("defaults: attribute %q, fallback %v; want timezone and UTC", w.attribute, w.fallback)
	}
}

func TestCompileWindowErrors(t *testing.T) {
	cases := []struct {
		tw    model.TimeWindow
		field string
	}{
		{model.TimeWindow{Days: []string{"mon", "someday"}, Start: "09:00", End: "10:00"}, "days[1]"},
		{model.TimeWindow{Start: "", End: "10:00"}, "start"},
		{model.TimeWindow{Start: "25:00", End: "10:00"}, "start"},
		{model.TimeWindow{Start: "09:00", End: "10:60"}, "end"},
		{model.TimeWindow{Start: "09:00", End: "9:00"}, "end"},
		{model.TimeWindow{Start: "09:00", End: "10:00", DefaultTimeZone: "Nowhere/Special"}, "defaultTimeZone"},
		{model.TimeWindow{Start: "09:00", End: "10:00", DefaultTimeZone: "../../etc/passwd"}, "defaultTimeZone"},
	}
	for _, tc := range cases {
		w, field, err := compileWindow(&tc.tw)
		if err == nil || w != nil || field != tc.field {
			t.Errorf("window %+v: got (%v, %q, %v), want an error on %q", tc.tw, w, field, err, tc.field)
		}
	}
}

// Zone names come from profiles: many distinct bad names must not grow the cache without bound,
// and concurrent look-ups must agree.
func TestWindowBadZonesDoNotGrowTheCache(t *testing.T) {
	w := mustWindow(t, model.TimeWindow{Start: "09:00", End: "17:00"})
	now := utc("2024-06-03T10:00:00Z")
	var wg sync.WaitGroup
	for g := 0; g < 4; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			for i := 0; i < maxZoneMisses; i++ {
				if !w.Contains(now, map[string]any{"timezone": fmt.Sprintf("Bad/Zone-%d-%d", g, i)}) {
					t.Errorf("a bad zone should fall back to UTC, where 10:00 is in the window")
					return
				}
			}
		}(g)
	}
	wg.Wait()
	failed := 0
	zones.Range(func(_, v any) bool {
		if _, ok := v.(error); ok {
			failed++
		}
		return true
	})
	if failed > maxZoneMisses {
		t.Fatalf("%d failed zone names cached, want at most %d", failed, maxZoneMisses)
	}
	if !w.Contains(utc("2024-06-03T13:30:00Z"), map[string]any{"timezone": "America/New_York"}) {
		t.Fatalf("a valid zone should still load once the failed-name cache is full")
	}
}
