package client

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// ErrorKind classifies a failure so callers can react without parsing text.
type ErrorKind int

// Error kinds. Each has a message a human understands (Error.Error).
const (
	KindUnknown        ErrorKind = iota // not classified
	KindAuth                            // 401, bad credentials, or the key must be unlocked
	KindForbidden                       // 403: this API key may not do that
	KindNotFound                        // 404
	KindConflict                        // 409 or a local check: the action is not pending
	KindRateLimited                     // 429
	KindServer                          // 5xx
	KindNetwork                         // no answer: connection refused, reset, timeout
	KindBadResponse                     // the answer is malformed, oversized or invalid
	KindBadRequest                      // 400: the server refused our request (e.g. a bad signature)
	KindUnknownOutcome                  // a decision was sent but whether it landed cannot be told
	KindRefused                         // the client refuses: expired action, no message, bad input
)

var kindNames = map[ErrorKind]string{
	KindUnknown:        "error",
	KindAuth:           "auth",
	KindForbidden:      "forbidden",
	KindNotFound:       "not found",
	KindConflict:       "not pending",
	KindRateLimited:    "rate limited",
	KindServer:         "server error",
	KindNetwork:        "network",
	KindBadResponse:    "bad response",
	KindBadRequest:     "bad request",
	KindUnknownOutcome: "unknown outcome",
	KindRefused:        "refused",
}

// String names the kind ("auth", "not pending", …).
func (k ErrorKind) String() string {
	if s, ok := kindNames[k]; ok {
		return s
	}
	return "error"
}

// Error is the one error type the client returns for API failures. It never
// carries a secret or a token.
type Error struct {
	Kind       ErrorKind
	Status     int           // HTTP status, 0 when there was no answer
	Msg        string        // what happened, for a human
	RetryAfter time.Duration // for KindRateLimited (and 503), when the server said
	Err        error         // the underlying cause, if any (never holds secrets)
}

// Error renders "kind: message".
func (e *Error) Error() string {
	s := e.Kind.String() + ": " + e.Msg
	if e.RetryAfter > 0 {
		s += fmt.Sprintf(" (retry after %s)", e.RetryAfter.Round(time.Second))
	}
	return s
}

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Err }

// Is makes errors.Is(err, &Error{Kind: K}) match any *Error of kind K.
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	return ok && t.Msg == "" && t.Kind == e.Kind
}

// KindOf returns the kind of err, or KindUnknown when it is not an *Error.
func KindOf(err error) ErrorKind {
	var e *Error
	if errors.As(err, &e) {
		return e.Kind
	}
	return KindUnknown
}

// ErrUnlockNeeded is returned when a new token is needed (the JWT expired
// or a refresh failed) and the API secret is locked.
var ErrUnlockNeeded = &Error{Kind: KindAuth, Msg: "unlock needed: the session token expired and the API secret is locked"}

// ErrLocked is what a Credentials implementation returns while locked.
var ErrLocked = errors.New("credentials are locked")

func errf(kind ErrorKind, format string, a ...any) *Error {
	return &Error{Kind: kind, Msg: fmt.Sprintf(format, a...)}
}

// statusError turns a non-2xx answer into an *Error. body is bounded and only
// a sanitised excerpt of it is kept: the detail of our {code,detail}
// extension when present, else the text of the body.
func statusError(method, path string, status int, body []byte, retryAfter time.Duration) *Error {
	what := method + " " + path
	e := &Error{Status: status, RetryAfter: retryAfter}
	switch {
	case status == 401:
		e.Kind, e.Msg = KindAuth, "the API refused our credentials for "+what
	case status == 403:
		e.Kind, e.Msg = KindForbidden, "this API key is not allowed to do "+what
	case status == 404:
		e.Kind, e.Msg = KindNotFound, what
	case status == 409:
		e.Kind, e.Msg = KindConflict, "already decided or closed ("+what+")"
	case status == 429:
		e.Kind, e.Msg = KindRateLimited, "too many requests from this key ("+what+")"
	case status >= 500:
		e.Kind, e.Msg = KindServer, "the API failed with status "+strconv.Itoa(status)+" on "+what
	case status == 400:
		e.Kind, e.Msg = KindBadRequest, "the API rejected "+what+" as invalid"
	default:
		e.Kind, e.Msg = KindBadResponse, "unexpected status "+strconv.Itoa(status)+" on "+what
	}
	if detail := serverDetail(body); detail != "" {
		e.Msg += ": " + detail
	}
	return e
}

// serverDetail extracts a short, one-line, printable message from an error
// body: the detail of a JSON error object (our extension; SA2's local API
// uses Detail), a JSON string, or else the text itself.
func serverDetail(body []byte) string {
	body = bytes.TrimSpace(body[:min(len(body), 4096)])
	var m struct {
		Detail  string `json:"detail"`
		Detail2 string `json:"Detail"`
		Message string `json:"message"`
		Error   string `json:"error"`
	}
	var str string
	switch {
	case len(body) == 0:
		return ""
	case json.Unmarshal(body, &m) == nil:
		for _, v := range []string{m.Detail, m.Detail2, m.Message, m.Error} {
			if v != "" {
				return sanitize(oneLine(v), 200)
			}
		}
		return ""
	case json.Unmarshal(body, &str) == nil:
		return sanitize(oneLine(str), 200)
	}
	return sanitize(oneLine(string(body)), 200)
}

// oneLine joins the lines of s with single spaces.
func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }

// sanitize makes s safe to print and bounds it to about limit bytes: C0
// and C1 controls, DEL, bidi controls, zero-width and invisible
// characters and invalid UTF-8 become visible escapes (\x1b, \u202e), so
// a hostile server can neither drive a terminal nor reorder or hide text.
func sanitize(s string, limit int) string {
	var b strings.Builder
	for i := 0; i < len(s); {
		if b.Len() >= limit {
			b.WriteString("…")
			break
		}
		r, n := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && n <= 1:
			fmt.Fprintf(&b, `\x%02x`, s[i])
		case unsafeRune(r):
			if r < 0x100 {
				fmt.Fprintf(&b, `\x%02x`, r)
			} else {
				fmt.Fprintf(&b, `\u%04x`, r)
			}
		default:
			b.WriteString(s[i : i+n])
		}
		i += n
	}
	return b.String()
}

// unsafeRune reports whether r must not reach a terminal or a one-line
// message as it is (the same set as ui/safetext, which client may not
// import).
func unsafeRune(r rune) bool {
	switch {
	case r < 0x20, r == 0x7f, r >= 0x80 && r < 0xa0:
		return true
	case r >= 0x202a && r <= 0x202e, r >= 0x2066 && r <= 0x2069, r == 0x200e, r == 0x200f, r == 0x061c:
		return true // bidi embeddings, overrides, isolates and marks
	case r >= 0x200b && r <= 0x200d, r == 0x2060, r == 0xfeff, r == 0x00ad, r == 0x180e:
		return true // zero-width and invisible characters
	case r == 0x2028 || r == 0x2029:
		return true
	}
	return false
}

// quoteID renders an untrusted ID for a message: as it is when valid,
// else escaped, bounded and quoted.
func quoteID(s string) string {
	if ValidID(s) {
		return s
	}
	return `"` + sanitize(s, 40) + `"`
}
