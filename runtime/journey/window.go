package journey

import (
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/wayline/wayline/runtime/model"
)

// Window is a compiled time window.
type Window struct {
	days      [7]bool // indexed by time.Weekday
	start     int     // minutes after midnight
	end       int
	attribute string
	fallback  *time.Location
}

var weekdays = map[string]time.Weekday{
	"sun": time.Sunday, "mon": time.Monday, "tue": time.Tuesday, "wed": time.Wednesday,
	"thu": time.Thursday, "fri": time.Friday, "sat": time.Saturday,
}

// compileWindow checks a time window; field names the window in error messages.
func compileWindow(tw *model.TimeWindow) (*Window, string, error) {
	w := &Window{attribute: tw.TimeZoneAttribute}
	if w.attribute == "" {
		w.attribute = "timezone"
	}
	if len(tw.Days) == 0 {
		for i := range w.days {
			w.days[i] = true
		}
	}
	for i, d := range tw.Days {
		wd, ok := weekdays[strings.ToLower(strings.TrimSpace(d))]
		if !ok {
			return nil, fmt.Sprintf("days[%d]", i), fmt.Errorf("%q is not a day: use mon, tue, wed, thu, fri, sat or sun", d)
		}
		w.days[wd] = true
	}
	var err error
	if w.start, err = parseClock(tw.Start); err != nil {
		return nil, "start", err
	}
	if w.end, err = parseClock(tw.End); err != nil {
		return nil, "end", err
	}
	if w.start == w.end {
		return nil, "end", fmt.Errorf("start and end are equal: the window would be empty")
	}
	zone := tw.DefaultTimeZone
	if zone == "" {
		zone = "UTC"
	}
	if w.fallback, err = time.LoadLocation(zone); err != nil {
		return nil, "defaultTimeZone", fmt.Errorf("%q is not an IANA time zone (like \"Europe/Paris\")", zone)
	}
	return w, "", nil
}

func parseClock(s string) (int, error) {
	t, err := time.Parse("15:04", strings.TrimSpace(s))
	if err != nil {
		return 0, fmt.Errorf("%q is not a time of day: use 24-hour HH:MM, like \"09:30\"", s)
	}
	return t.Hour()*60 + t.Minute(), nil
}

// Contains reports whether now, in the profile's time zone, falls in the window. A window whose
// end is before its start spans midnight, and its day is the day it started.
func (w *Window) Contains(now time.Time, attributes map[string]any) bool {
	loc := w.fallback
	if name, ok := attributes[w.attribute].(string); ok && name != "" {
		if l, err := loadZone(name); err == nil {
			loc = l
		}
	}
	local := now.In(loc)
	minute := local.Hour()*60 + local.Minute()
	if w.start < w.end {
		return w.days[local.Weekday()] && minute >= w.start && minute < w.end
	}
	if minute >= w.start {
		return w.days[local.Weekday()]
	}
	if minute < w.end {
		return w.days[(local.Weekday()+6)%7]
	}
	return false
}

var (
	zones      sync.Map     // name → *time.Location or error
	zoneMisses atomic.Int64 // failed look-ups so far; the first maxZoneMisses are cached
)

// maxZoneMisses caps the failed names cached: zone names come from profile attributes.
const maxZoneMisses = 1024

// loadZone caches time.LoadLocation, which reads the zone database on every call. Valid names
// are bounded by the zone database; failed ones come from profile attributes, so only the
// first maxZoneMisses of them are cached, or distinct bad names would grow the cache forever.
func loadZone(name string) (*time.Location, error) {
	if v, ok := zones.Load(name); ok {
		if l, ok := v.(*time.Location); ok {
			return l, nil
		}
		return nil, v.(error)
	}
	l, err := time.LoadLocation(name)
	if err != nil {
		if zoneMisses.Add(1) <= maxZoneMisses {
			zones.Store(name, err)
		}
		return nil, err
	}
	zones.Store(name, l)
	return l, nil
}
