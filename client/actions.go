package client

import (
	"context"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"hash/maphash"
	"net/http"
	"net/url"
	"strconv"
)

// Paging bounds of ListPending.
const (
	listPageSize = 250
	maxListPages = 2000
)

type listAnswer struct {
	Actions       []json.RawMessage `json:"actions"`
	NextPageToken string            `json:"nextPageToken"`
}

// ErrNoListEndpoint is the cause of the error ListPages returns when the
// API has no list endpoint (a 404 or 405 on it: the list is our extension):
// callers fall back to the feed alone. errors.Is(err, ErrNoListEndpoint).
var ErrNoListEndpoint = errors.New("the API has no list endpoint")

// Skipped is an action left out of a listing or the feed because it is
// malformed: its ID when one could be read (escaped and bounded: safe to
// print) and why.
type Skipped struct {
	ID     string
	Reason string
}

// skippedAction describes a malformed action: the ID read from raw JSON
// when there is one, and the reason taken from err.
func skippedAction(raw []byte, err error) Skipped {
	var w struct {
		ID any `json:"id"`
	}
	s := Skipped{Reason: sanitize(err.Error(), 300)}
	var e *Error
	if errors.As(err, &e) {
		s.Reason = e.Msg
	}
	if json.Unmarshal(raw, &w) == nil {
		if id, ok := w.ID.(string); ok && id != "" {
			s.ID = quoteID(id)
		}
	}
	return s
}

// ListPending lists the pending actions this API key may act on, following
// pages (see ListPages); malformed actions are left out.
func (c *Client) ListPending(ctx context.Context) ([]*Action, error) {
	var all []*Action
	err := c.ListPages(ctx, func(page []*Action, _ []Skipped) error {
		all = append(all, page...)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return all, nil
}

// ListPages lists the pending actions this API key may act on
// (GET /workspaces/{wid}/actions?status=1: our extension, docs/PROTOCOL.md),
// handing each page to fn as it arrives, so a caller can keep only what
// it needs of a long list. A malformed action does not fail the listing:
// it is handed to fn in skipped. Actions seen on an earlier page are left
// out; an error from fn stops the listing. Without a list endpoint the
// error wraps ErrNoListEndpoint.
func (c *Client) ListPages(ctx context.Context, fn func(page []*Action, skipped []Skipped) error) error {
	// IDs already taken, by hash: a long list does not keep a second
	// copy of every ID alive while it loads.
	seed := maphash.MakeSeed()
	seen := map[uint64]struct{}{}
	token := ""
	path := "/workspaces/" + c.cfg.WorkspaceID + "/actions"
	for n := 0; n < maxListPages; n++ {
		q := url.Values{"status": {strconv.Itoa(StatusPending)}, "pageSize": {strconv.Itoa(listPageSize)}}
		if token != "" {
			q.Set("pageToken", token)
		}
		var out listAnswer
		if err := c.do(ctx, request{method: http.MethodGet, path: path, query: q, auth: true, retry: true, out: &out}); err != nil {
			var e *Error
			if n == 0 && errors.As(err, &e) && (e.Status == http.StatusNotFound || e.Status == http.StatusMethodNotAllowed) {
				return &Error{Kind: KindNotFound, Status: e.Status, Msg: "the API has no list endpoint (GET " + path + " answered " + strconv.Itoa(e.Status) + "); pending actions come from the feed only", Err: ErrNoListEndpoint}
			}
			return err
		}
		page := make([]*Action, 0, len(out.Actions))
		var skipped []Skipped
		for _, raw := range out.Actions {
			a, err := decodeListed(raw)
			if err != nil {
				skipped = append(skipped, skippedAction(raw, err))
				continue
			}
			h := maphash.String(seed, a.ID)
			if _, dup := seen[h]; dup {
				continue
			}
			seen[h] = struct{}{}
			page = append(page, a)
		}
		if err := fn(page, skipped); err != nil {
			return err
		}
		if out.NextPageToken == "" {
			return nil
		}
		if len(out.NextPageToken) > 512 || out.NextPageToken == token {
			return errf(KindBadResponse, "the API returned an unusable page token")
		}
		token = out.NextPageToken
	}
	return errf(KindBadResponse, "the action list has more than %d pages; giving up", maxListPages)
}

// decodeListed decodes one action of a list page (hex messages).
func decodeListed(raw json.RawMessage) (*Action, error) {
	var w WireAction
	if err := json.Unmarshal(raw, &w); err != nil {
		return nil, errf(KindBadResponse, "not a JSON action: %s", jsonProblem(err))
	}
	return DecodeWire(&w, true)
}

// GetAction reads one action (messages in hex).
func (c *Client) GetAction(ctx context.Context, id string) (*Action, error) {
	if !ValidID(id) {
		return nil, errf(KindRefused, "%s is not a valid action ID", quoteID(id))
	}
	var w WireAction
	if err := c.do(ctx, request{method: http.MethodGet, path: "/actions/" + id, auth: true, retry: true, out: &w}); err != nil {
		return nil, err
	}
	if w.ID != id {
		return nil, errf(KindBadResponse, "asked for action %s, the API answered with action %s", id, quoteID(w.ID))
	}
	return DecodeWire(&w, true)
}

type decideBody struct {
	Status     int      `json:"status"`
	Signatures []string `json:"signatures"`
}

// Decide approves (status 3) or rejects (status 4) action id with the BLS
// signature over its Messages[0]. Any 2xx answer is success, whatever its
// body. It is never re-sent automatically: when the POST fails in transit
// (no answer, 5xx, unreadable answer), Decide re-reads the action and
// reports what it can tell (see confirm): nil when our decision is
// recorded, KindConflict when the action is decided otherwise,
// KindNetwork when it is certainly not recorded, KindUnknownOutcome when
// it cannot tell.
func (c *Client) Decide(ctx context.Context, id string, approve bool, signature []byte) error {
	if !ValidID(id) {
		return errf(KindRefused, "%s is not a valid action ID", quoteID(id))
	}
	if len(signature) == 0 || 2*len(signature) > MaxSignatureHex {
		return errf(KindRefused, "the signature for action %s is missing or too long", id)
	}
	want := StatusRejected
	if approve {
		want = StatusApproved
	}
	body := decideBody{Status: want, Signatures: []string{hex.EncodeToString(signature)}}
	err := c.do(ctx, request{method: http.MethodPost, path: "/actions/" + id, body: body, auth: true})
	if err == nil {
		return nil
	}
	k := KindOf(err)
	if k != KindNetwork && k != KindServer && k != KindBadResponse {
		return err // the server answered clearly: nothing landed, or a conflict
	}
	return c.confirm(ctx, id, want, err)
}

// confirm re-reads an action after a decision (want) failed in transit and
// says honestly what became of it. Without myDecision (our extension) the
// API cannot say whether this decision was recorded: then it is never
// reported as "not recorded".
func (c *Client) confirm(ctx context.Context, id string, want int, cause error) error {
	// Use a fresh deadline even when ctx has expired: the operator must
	// learn what happened to a decision that may have landed.
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*c.cfg.Timeout)
	defer cancel()
	a, err := c.GetAction(rctx, id)
	if err != nil {
		return &Error{Kind: KindUnknownOutcome, Msg: "the decision on " + id + " was sent, its answer was lost and the action could not be re-read; check it before deciding again", Err: errors.Join(cause, err)}
	}
	now, ours := StatusName(a.Status), StatusName(want)
	switch {
	case a.MyDecisionKnown && a.MyDecision == want:
		return nil
	case a.MyDecisionKnown && a.MyDecision != 0:
		return &Error{Kind: KindConflict, Msg: "action " + id + " was already " + StatusName(a.MyDecision) + " by this key", Err: cause}
	case a.Status == StatusPending && a.MyDecisionKnown:
		return &Error{Kind: KindNetwork, Msg: "not recorded: action " + id + " is still pending with no decision from this key; the decision was not re-sent", Err: cause}
	case a.Status == StatusPending:
		return &Error{Kind: KindUnknownOutcome, Msg: "still pending; the API does not say whether this decision was recorded; it was not re-sent", Err: cause}
	case a.Status == want && !a.MyDecisionKnown:
		return &Error{Kind: KindUnknownOutcome, Msg: "sent; the action is now " + now + " — probably by this decision", Err: cause}
	case a.MyDecisionKnown:
		return &Error{Kind: KindConflict, Msg: "action " + id + " is now " + now + ", and not " + ours + " by this key", Err: cause}
	}
	return &Error{Kind: KindConflict, Msg: "action " + id + " is now " + now + "; whether this decision was recorded first is unknown", Err: cause}
}

// DecideWith reads action id, refuses unless it is pending, unexpired and
// has a message, asks sign for the signature over Messages[0] exactly as
// received, and sends the decision. sign is only called when all checks
// pass.
func (c *Client) DecideWith(ctx context.Context, id string, approve bool, sign func(msg []byte) ([]byte, error)) error {
	a, err := c.GetAction(ctx, id)
	if err != nil {
		return err
	}
	msg, err := a.MessageToSign(c.now())
	if err != nil {
		return err
	}
	sig, err := sign(msg)
	if err != nil {
		return err
	}
	return c.Decide(ctx, id, approve, sig)
}

type keyAnswer struct {
	ActionID string `json:"actionID"`
	Name     string `json:"name"`
}

// RegisterKeys starts the registration of this API key's BLS (192 bytes)
// and EC (65 bytes, uncompressed) public keys: PUT apikeys/{kid}. It
// returns the ID of the update action, which must then be signed with the
// new BLS key (GetAction + Decide, or DecideWith).
func (c *Client) RegisterKeys(ctx context.Context, blsPub, ecPub []byte) (string, error) {
	if len(blsPub) != 192 {
		return "", errf(KindRefused, "a BLS public key is 192 bytes, not %d", len(blsPub))
	}
	if len(ecPub) != 65 || ecPub[0] != 0x04 {
		return "", errf(KindRefused, "an EC public key is 65 bytes starting with 04")
	}
	body := map[string]string{
		"blsPublicKey": base64.StdEncoding.EncodeToString(blsPub),
		"ecPublicKey":  base64.StdEncoding.EncodeToString(ecPub),
	}
	var out keyAnswer
	// A PUT of the same keys is idempotent, but a new action may be
	// created each time: do not retry.
	if err := c.do(ctx, request{method: http.MethodPut, path: c.keyPath(), body: body, auth: true, out: &out}); err != nil {
		return "", err
	}
	if !ValidID(out.ActionID) {
		return "", errf(KindBadResponse, "the API did not return a valid action ID for the key update")
	}
	return out.ActionID, nil
}

// APIKeyName reads the name of this API key.
func (c *Client) APIKeyName(ctx context.Context) (string, error) {
	var out keyAnswer
	if err := c.do(ctx, request{method: http.MethodGet, path: c.keyPath(), auth: true, retry: true, out: &out}); err != nil {
		return "", err
	}
	return sanitize(out.Name, 100), nil
}

func (c *Client) keyPath() string {
	return "/workspaces/" + c.cfg.WorkspaceID + "/apikeys/" + c.cfg.APIKeyID
}

// WebSocketToken asks for a one-time token for the feed's ?token= query
// parameter (POST /websocket/token).
func (c *Client) WebSocketToken(ctx context.Context) (string, error) {
	var out struct {
		WSToken string `json:"wsToken"`
	}
	if err := c.do(ctx, request{method: http.MethodPost, path: "/websocket/token", auth: true, out: &out}); err != nil {
		return "", err
	}
	if out.WSToken == "" || len(out.WSToken) > MaxTokenBytes {
		return "", errf(KindBadResponse, "the API returned no usable WebSocket token")
	}
	return out.WSToken, nil
}
