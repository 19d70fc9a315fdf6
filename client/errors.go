package client

import (
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
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
// a sanitised excerpt of it is kept.
func statusError(method, path string, status int, body []byte, retryAfter time.Duration) *Error {
	detail := serverDetail(body)
	what := method + " " + path
	e := &Error{Status: status, RetryAfter: retryAfter}
	switch {
	case status == 401:
		e.Kind, e.Msg = KindAuth, "the API refused our credentials for "+what
	case status == 403:
		e.Kind, e.Msg = KindForbidden, "this API key is not allowed to do "+what
	case status == 404:
		e.Kind, e.Msg = KindNotFound, what+" was not found"
	case status == 409:
		e.Kind, e.Msg = KindConflict, "the action is no longer pending or was already decided ("+what+")"
	case status == 429:
		e.Kind, e.Msg = KindRateLimited, "the API is rate-limiting this key ("+what+")"
	case status >= 500:
		e.Kind, e.Msg = KindServer, "the API failed with status "+strconv.Itoa(status)+" on "+what
	case status == 400:
		e.Kind, e.Msg = KindBadRequest, "the API rejected "+what+" as invalid"
	default:
		e.Kind, e.Msg = KindBadResponse, "unexpected status "+strconv.Itoa(status)+" on "+what
	}
	if detail != "" {
		e.Msg += ": " + detail
	}
	return e
}

// serverDetail extracts a short printable message from an error body.
func serverDetail(body []byte) string {
	var m struct {
		Detail  string `json:"detail"`
		Detail2 string `json:"Detail"`
		Message string `json:"message"`
		Error   string `json:"error"`
	}
	s := ""
	if json.Unmarshal(body, &m) == nil {
		for _, v := range []string{m.Detail, m.Detail2, m.Message, m.Error} {
			if v != "" {
				s = v
				break
			}
		}
	}
	return sanitize(s, 200)
}

// sanitize keeps printable characters only and bounds the length, so a
// hostile server cannot inject terminal escapes into our messages.
func sanitize(s string, max int) string {
	var b strings.Builder
	for _, r := range s {
		if b.Len() >= max {
			b.WriteString("…")
			break
		}
		if r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) {
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}
