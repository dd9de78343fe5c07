package model

import (
	"encoding/json"
	"fmt"
	"time"
)

// EventDefinition is a named event type.
type EventDefinition struct {
	Name        string `json:"name"`
	Description string `json:"description,omitempty"`
	// Schema is a JSON Schema (draft 2020-12 subset) for the event's data object.
	Schema json.RawMessage `json:"schema,omitempty"`
	// IdentityField is the dotted path, inside data, of the field that carries the profile
	// identity ("userId", "customer.email").
	IdentityField string `json:"identityField"`
	// IdentityNamespace prefixes the identity value: a profile id is "namespace:value".
	IdentityNamespace string `json:"identityNamespace"`
	// Qualifier is an optional CEL expression over event; an event for which it is false is
	// accepted but does not move journeys.
	Qualifier string `json:"qualifier,omitempty"`
	// Public definitions are accepted without an API key, rate-limited per client IP.
	Public    bool      `json:"public"`
	Version   int64     `json:"version"`
	CreatedAt time.Time `json:"createdAt"`
	UpdatedAt time.Time `json:"updatedAt"`
}

// Envelope is a normalised event, as the engine sees it.
type Envelope struct {
	ID         string         `json:"id"`
	Type       string         `json:"type"`
	Timestamp  time.Time      `json:"timestamp"`
	Identity   string         `json:"identity"` // "namespace:value", the profile id
	Data       map[string]any `json:"data"`
	ReceivedAt time.Time      `json:"receivedAt"`
	// Test marks an event sent to test profiles only.
	Test bool `json:"test,omitempty"`
}

// ActionAuth is how a REST action authenticates. Secrets (Token, Password, Value) are
// write-only: the API accepts them and never returns them.
type ActionAuth struct {
	Type     string `json:"type"`               // "none", "bearer", "basic", "apiKey"
	Token    string `json:"token,omitempty"`    // bearer
	Username string `json:"username,omitempty"` // basic
	Password string `json:"password,omitempty"` // basic
	Header   string `json:"header,omitempty"`   // apiKey: the header name, e.g. "X-API-Key"
	Value    string `json:"value,omitempty"`    // apiKey
}

// Auth types.
const (
	AuthNone   = "none"
	AuthBearer = "bearer"
	AuthBasic  = "basic"
	AuthAPIKey = "apiKey"
)

// RetryPolicy says how a failed action call is retried: exponential backoff from
// InitialBackoff, doubling up to MaxBackoff, with full jitter, at most MaxAttempts calls in all.
type RetryPolicy struct {
	MaxAttempts    int      `json:"maxAttempts"`
	InitialBackoff Duration `json:"initialBackoff"`
	MaxBackoff     Duration `json:"maxBackoff"`
}

// Action is a custom REST action.
type Action struct {
	ID          string `json:"id"`
	Name        string `json:"name"`
	Description string `json:"description,omitempty"`
	// Kind is ActionREST (the default when empty) or ActionPlugin.
	Kind string `json:"kind,omitempty"`
	// Plugin is the action plugin a plugin action calls (pinned to a version).
	Plugin  *PluginRef        `json:"plugin,omitempty"`
	Method  string            `json:"method"`
	URL     string            `json:"url"` // may hold {{ expr }} templates
	Headers map[string]string `json:"headers,omitempty"`
	Auth    *ActionAuth       `json:"auth,omitempty"`
	// Payload is a JSON template: any string value may hold {{ expr }} parts; a string that is
	// exactly one {{ expr }} takes the expression's type.
	Payload json.RawMessage `json:"payload,omitempty"`
	Timeout Duration        `json:"timeout"`
	Retry   RetryPolicy     `json:"retry"`
	// RateLimit caps calls per second to this action across all journeys (0: no cap).
	RateLimit float64 `json:"rateLimit"`
	// Signing signs a REST action's body (HMAC-SHA256, Stripe-style header); nil: unsigned.
	Signing *ActionSigning `json:"signing,omitempty"`
	// Message is a channel action's message template (email, sms, push).
	Message *Message `json:"message,omitempty"`
	// Provider is how a channel action reaches its provider (SMTP server, SMS or push API).
	Provider *Provider `json:"provider,omitempty"`
	// Capping caps how many messages of this action's channel a profile receives in a period,
	// across all journeys and actions; nil: the workspace's default, if any.
	Capping *Capping `json:"capping,omitempty"`
	// QuietHours holds or skips sends inside a daily window in the profile's time zone; nil:
	// the workspace's default, if any.
	QuietHours *QuietHours `json:"quietHours,omitempty"`
	Version    int64       `json:"version"`
	CreatedAt  time.Time   `json:"createdAt"`
	UpdatedAt  time.Time   `json:"updatedAt"`
}

// Action kinds. Email, SMS and push are the built-in channels.
const (
	ActionREST   = "rest"
	ActionPlugin = "plugin"
	ActionEmail  = "email"
	ActionSMS    = "sms"
	ActionPush   = "push"
)

// IsChannel reports whether kind is a built-in channel.
func IsChannel(kind string) bool {
	return kind == ActionEmail || kind == ActionSMS || kind == ActionPush
}

// ActionSigning signs outbound calls: the header carries "t=<unix seconds>,v1=<hex
// HMAC-SHA256 of "<t>.<raw body>">", one v1 per secret, so a receiver that knows any of them
// accepts the call while a secret is rotated. Secrets are write-only.
type ActionSigning struct {
	Secrets []string `json:"secrets"`
	// Header is the header name (default "Wayline-Signature").
	Header string `json:"header,omitempty"`
}

// Message is a channel message. Every string may hold {{ expr }} parts, {{ a ?? b }}
// fallbacks and {{#if expr}}…{{else}}…{{/if}} / {{#each expr as x}}…{{/each}} blocks; HTML
// is escaped by default ({{{ expr }}} writes raw HTML).
type Message struct {
	Subject string `json:"subject,omitempty"` // email
	HTML    string `json:"html,omitempty"`    // email
	Text    string `json:"text,omitempty"`    // email (the text alternative), sms
	Title   string `json:"title,omitempty"`   // push
	Body    string `json:"body,omitempty"`    // push
	// Data is the push notification's data payload (string values, as FCM wants).
	Data map[string]string `json:"data,omitempty"`
}

// Provider is a channel's provider settings; which fields apply depends on the action's kind.
// Password, AuthToken and ServerKey are write-only.
type Provider struct {
	// email (SMTP)
	Host     string `json:"host,omitempty"`
	Port     int    `json:"port,omitempty"`
	TLS      string `json:"tls,omitempty"` // "starttls" (default), "implicit", "none"
	Username string `json:"username,omitempty"`
	Password string `json:"password,omitempty"`
	From     string `json:"from,omitempty"`     // "Ann <ann@example.com>"
	ReplyTo  string `json:"replyTo,omitempty"`  // optional
	PoolSize int    `json:"poolSize,omitempty"` // open SMTP connections (default 4)
	// sms (Twilio-style form POST) and push (FCM HTTP v1-style JSON)
	URL        string `json:"url,omitempty"`        // the provider's endpoint
	AccountSID string `json:"accountSid,omitempty"` // sms: basic-auth user
	AuthToken  string `json:"authToken,omitempty"`  // sms: basic-auth password; push: bearer token
	FromNumber string `json:"fromNumber,omitempty"` // sms
	// StatusCallback asks the SMS provider to report delivery to this node (sms).
	StatusCallback bool `json:"statusCallback,omitempty"`
	// Consent is the profile attribute that must be true for a send ("consent.<kind>" when
	// empty); Address the attribute holding the address ("email", "phone", "pushTokens").
	Consent string `json:"consent,omitempty"`
	Address string `json:"address,omitempty"`
}

// SettingsID is the id of the workspace settings document (meta kind "setting").
const SettingsID = "workspace"

// Settings are the workspace-wide settings: one document, versioned like other resources.
type Settings struct {
	// Channels holds, per channel kind ("email", "sms", "push"), the frequency cap and quiet
	// hours that apply to every action of that kind that sets none of its own.
	Channels  map[string]ChannelPolicy `json:"channels"`
	Version   int64                    `json:"version"`
	UpdatedAt time.Time                `json:"updatedAt"`
}

// ChannelPolicy is a channel kind's workspace defaults.
type ChannelPolicy struct {
	Capping    *Capping    `json:"capping,omitempty"`
	QuietHours *QuietHours `json:"quietHours,omitempty"`
}

// Capping limits messages per profile and channel: at most Max in any Period.
type Capping struct {
	Max    int      `json:"max"`
	Period Duration `json:"period"`
}

// QuietHours is a daily window, in the profile's time zone, when a channel does not send.
type QuietHours struct {
	Start string `json:"start"` // "21:00"
	End   string `json:"end"`   // "08:00"; before Start spans midnight
	// Mode is "hold" (the default: send when the window ends) or "skip" (the error path).
	Mode string `json:"mode,omitempty"`
	// TimeZoneAttribute ("timezone" when empty) and DefaultTimeZone ("UTC") as for time windows.
	TimeZoneAttribute string `json:"timeZoneAttribute,omitempty"`
	DefaultTimeZone   string `json:"defaultTimeZone,omitempty"`
}

// PluginRef names the plugin version a journey branch, an action or a data source uses, and
// the config it passes. An empty Version in a draft means "the latest"; publishing pins it.
type PluginRef struct {
	Name    string          `json:"name"`
	Version string          `json:"version,omitempty"`
	Config  json.RawMessage `json:"config,omitempty"`
}

// Plugin is an uploaded plugin: its versions (each an immutable module, content-addressed by
// sha256) and the installation's secrets and config.
type Plugin struct {
	Name        string          `json:"name"`
	Description string          `json:"description,omitempty"`
	Versions    []PluginVersion `json:"versions"`
	// Secrets are write-only: read by the plugin with secret_get, never returned by the API.
	Secrets map[string]string `json:"secrets,omitempty"`
	// Config is the installation's config; a node's config is merged over it.
	Config    json.RawMessage `json:"config,omitempty"`
	Revision  int64           `json:"revision"`
	CreatedAt time.Time       `json:"createdAt"`
	UpdatedAt time.Time       `json:"updatedAt"`
}

// PluginVersion is one uploaded module.
type PluginVersion struct {
	Version    string          `json:"version"`
	SHA256     string          `json:"sha256"`
	Size       int             `json:"size"`
	Kinds      []string        `json:"kinds"`
	Manifest   json.RawMessage `json:"manifest"`
	UploadedAt time.Time       `json:"uploadedAt"`
}

// Latest returns the most recently uploaded version.
func (p *Plugin) Latest() (PluginVersion, bool) {
	if len(p.Versions) == 0 {
		return PluginVersion{}, false
	}
	return p.Versions[len(p.Versions)-1], true
}

// Find returns a version by its number.
func (p *Plugin) Find(version string) (PluginVersion, bool) {
	for _, v := range p.Versions {
		if v.Version == version {
			return v, true
		}
	}
	return PluginVersion{}, false
}

// Data-source kinds.
const (
	DataSourcePlugin = "plugin"
	DataSourceREST   = "rest"
)

// DataSource is where conditions and templates read data beyond the event and profile: field
// groups served by an adapter, read lazily as ds.<id>.<group>.<field> and cached.
type DataSource struct {
	ID          string            `json:"id"`
	Name        string            `json:"name"`
	Description string            `json:"description,omitempty"`
	Kind        string            `json:"kind"`
	Plugin      *PluginRef        `json:"plugin,omitempty"`
	Groups      []DataSourceGroup `json:"groups"`
	// CacheTTL keeps a group's answer for the same parameters this long (0: 1 minute).
	CacheTTL Duration `json:"cacheTtl"`
	// OnError is "error" (the default: the expression that needed the group fails, so its
	// branch does not match and the node counts an error) or "default" (use the group's
	// Defaults).
	OnError   string    `json:"onError,omitempty"`
	Version   int64     `json:"version"`
	CreatedAt time.Time `json:"createdAt"`
	UpdatedAt time.Time `json:"updatedAt"`
	// REST configures a "rest" source: where it is and how it is called. Groups say what each
	// call asks for (Method, Path, Query).
	REST *RESTSource `json:"rest,omitempty"`
}

// RESTSource is the endpoint of a "rest" data source. Auth secrets are write-only.
type RESTSource struct {
	// BaseURL is an absolute http(s) URL; each group's Path is appended to it.
	BaseURL string          `json:"baseUrl"`
	Auth    *DataSourceAuth `json:"auth,omitempty"`
	// Headers are sent with every call (values of sensitive headers are write-only).
	Headers map[string]string `json:"headers,omitempty"`
	// Timeout bounds one call, OAuth2 token requests included (0: 5s, at most 60s).
	Timeout Duration `json:"timeout,omitempty"`
	// RatePerSecond caps the calls made to the source, across all its groups (0: no cap). A
	// call over the cap waits for its turn within the timeout, then fails.
	RatePerSecond float64 `json:"ratePerSecond,omitempty"`
	// MaxResponseBytes caps an answer's body (0: 1 MiB, at most 16 MiB).
	MaxResponseBytes int64 `json:"maxResponseBytes,omitempty"`
}

// DataSourceAuth is how a REST data source authenticates: the action auth types plus "oauth2"
// (client credentials, the token kept until it expires). Token, Password, Value and
// ClientSecret are write-only.
type DataSourceAuth struct {
	Type         string   `json:"type"` // "none", "bearer", "basic", "apiKey", "oauth2"
	Token        string   `json:"token,omitempty"`
	Username     string   `json:"username,omitempty"`
	Password     string   `json:"password,omitempty"`
	Header       string   `json:"header,omitempty"`
	Value        string   `json:"value,omitempty"`
	TokenURL     string   `json:"tokenUrl,omitempty"`
	ClientID     string   `json:"clientId,omitempty"`
	ClientSecret string   `json:"clientSecret,omitempty"`
	Scopes       []string `json:"scopes,omitempty"`
}

// AuthOAuth2 is OAuth2 client credentials (data sources only).
const AuthOAuth2 = "oauth2"

// DataSourceGroup is one set of fields fetched together.
type DataSourceGroup struct {
	Name string `json:"name"`
	// Params maps each parameter to a CEL expression over event, profile and vars.
	Params map[string]string `json:"params,omitempty"`
	// Fields is a JSON Schema of the group's fields: what the designer offers.
	Fields json.RawMessage `json:"fields,omitempty"`
	// Defaults are used when the source fails and OnError is "default".
	Defaults map[string]any `json:"defaults,omitempty"`
	// Method, Path and Query say how a "rest" source is asked for the group: Path (appended to
	// the base URL) and each Query value are string templates over the group's parameters,
	// such as "/v1/customers/{{ params.id }}". Method is GET (the default) or POST.
	Method string            `json:"method,omitempty"`
	Path   string            `json:"path,omitempty"`
	Query  map[string]string `json:"query,omitempty"`
}

// Node kinds.
const (
	NodeEvent         = "event"
	NodeCondition     = "condition"
	NodeWait          = "wait"
	NodeAction        = "action"
	NodeUpdateProfile = "update_profile"
	NodeEnd           = "end"
)

// Position is where the designer drew a node; the engine ignores it.
type Position struct {
	X float64 `json:"x"`
	Y float64 `json:"y"`
}

// Node is one step of a journey graph. Which fields apply depends on Kind; validation reports
// fields set on the wrong kind.
type Node struct {
	ID       string    `json:"id"`
	Kind     string    `json:"kind"`
	Name     string    `json:"name,omitempty"`
	Position *Position `json:"position,omitempty"`
	Next     string    `json:"next,omitempty"`

	// event: the first node is the entry; later ones wait for the event, with a timeout path.
	Event       string   `json:"event,omitempty"`
	Condition   string   `json:"condition,omitempty"` // optional CEL filter on the event
	Timeout     Duration `json:"timeout,omitempty"`
	TimeoutNext string   `json:"timeoutNext,omitempty"`

	// condition: ordered branches and else, or a percentage split.
	Branches []Branch `json:"branches,omitempty"`
	Else     string   `json:"else,omitempty"`
	Split    []Split  `json:"split,omitempty"`

	// wait: exactly one of Duration, Until (RFC 3339) or UntilExpression (CEL timestamp).
	Duration        Duration `json:"duration,omitempty"`
	Until           string   `json:"until,omitempty"`
	UntilExpression string   `json:"untilExpression,omitempty"`

	// action
	Action    string          `json:"action,omitempty"`
	Payload   json.RawMessage `json:"payload,omitempty"` // overrides the action's template
	ErrorNext string          `json:"errorNext,omitempty"`

	// update_profile: attribute path → CEL expression; Unset removes attributes; Vars sets
	// instance variables.
	Set   map[string]string `json:"set,omitempty"`
	Unset []string          `json:"unset,omitempty"`
	Vars  map[string]string `json:"vars,omitempty"`
}

// Branch is one ordered branch of a condition node: a CEL expression or a time window.
type Branch struct {
	ID         string      `json:"id"`
	Name       string      `json:"name,omitempty"`
	Expression string      `json:"expression,omitempty"`
	TimeWindow *TimeWindow `json:"timeWindow,omitempty"`
	// Plugin makes the branch match when a condition plugin answers true.
	Plugin *PluginRef `json:"plugin,omitempty"`
	Next   string     `json:"next"`
}

// TimeWindow matches when the current time, in the profile's time zone, falls on one of Days
// between Start and End ("09:00", "17:30"; End before Start spans midnight).
type TimeWindow struct {
	Days  []string `json:"days,omitempty"` // "mon".."sun"; empty: every day
	Start string   `json:"start"`
	End   string   `json:"end"`
	// TimeZoneAttribute is the profile attribute holding an IANA zone ("timezone" if empty);
	// DefaultTimeZone is used when the profile has none ("UTC" if empty).
	TimeZoneAttribute string `json:"timeZoneAttribute,omitempty"`
	DefaultTimeZone   string `json:"defaultTimeZone,omitempty"`
}

// Split is one arm of a percentage split; a profile always lands in the same arm.
type Split struct {
	ID      string `json:"id"`
	Percent int    `json:"percent"`
	Next    string `json:"next"`
}

// Reentrance modes.
const (
	ReenterNever = "never"
	ReenterAfter = "after"
)

// Rules apply to the whole journey.
type Rules struct {
	// Reentrance: "never" (default) or "after" Wait since the last entry; a profile is never in
	// two instances of one journey at once.
	Reentrance Reentrance `json:"reentrance"`
	// Timeout ends any instance that has run this long (default 30 days).
	Timeout    Duration    `json:"timeout,omitempty"`
	ExitEvents []ExitEvent `json:"exitEvents,omitempty"`
}

// Reentrance is the re-entrance rule.
type Reentrance struct {
	Mode string   `json:"mode"`
	Wait Duration `json:"wait,omitempty"`
}

// ExitEvent ends an instance when its event arrives (and Condition, if any, holds).
type ExitEvent struct {
	Event     string `json:"event"`
	Condition string `json:"condition,omitempty"`
}

// DefaultJourneyTimeout is the global timeout when a journey sets none.
const DefaultJourneyTimeout = 30 * 24 * time.Hour

// Definition is the versioned part of a journey: its graph and rules.
type Definition struct {
	Nodes []Node `json:"nodes"`
	Rules Rules  `json:"rules"`
}

// Journey statuses.
const (
	StatusDraft   = "draft"   // never published
	StatusLive    = "live"    // a live version takes entries
	StatusStopped = "stopped" // no new entries; in-flight instances finish
)

// Journey is the editable resource: a draft and a pointer to the live version.
type Journey struct {
	ID          string      `json:"id"`
	Name        string      `json:"name"`
	Description string      `json:"description,omitempty"`
	Status      string      `json:"status"`
	LiveVersion int         `json:"liveVersion,omitempty"`
	Versions    int         `json:"versions"` // how many versions were published
	Draft       *Definition `json:"draft,omitempty"`
	// Revision changes on every edit; updates must carry it (If-Match or "revision").
	Revision  int64     `json:"revision"`
	CreatedAt time.Time `json:"createdAt"`
	UpdatedAt time.Time `json:"updatedAt"`
}

// JourneyVersionID is the metadata id of a journey's published version: the journey id and the
// version zero-padded, so a journey's versions list in order.
func JourneyVersionID(journeyID string, version int) string {
	return fmt.Sprintf("%s/%08d", journeyID, version)
}

// JourneyVersion is an immutable published version.
type JourneyVersion struct {
	JourneyID   string     `json:"journeyId"`
	Version     int        `json:"version"`
	Name        string     `json:"name"`
	Definition  Definition `json:"definition"`
	PublishedAt time.Time  `json:"publishedAt"`
}

// Profile is one customer's profile.
type Profile struct {
	ID         string         `json:"id"` // primary identity, "namespace:value"
	Identities []string       `json:"identities"`
	Attributes map[string]any `json:"attributes"`
	Test       bool           `json:"test,omitempty"`
	CreatedAt  time.Time      `json:"createdAt"`
	UpdatedAt  time.Time      `json:"updatedAt"`
}

// Roles of API keys, from most to least powerful.
const (
	RoleAdmin  = "admin"
	RoleEditor = "editor"
	RoleViewer = "viewer"
	RoleIngest = "ingest"
)

// APIKey is a stored key: only the hash of the secret is kept.
type APIKey struct {
	ID        string    `json:"id"`
	Name      string    `json:"name"`
	Role      string    `json:"role"`
	Hash      string    `json:"hash"`   // hex sha256 of the secret
	Prefix    string    `json:"prefix"` // first characters, to recognise a key in lists
	CreatedAt time.Time `json:"createdAt"`
}
