package sandbox

import (
	"encoding/base64"
	"encoding/json"
	"strings"
	"sync"
	"testing"
	"time"
)

// stepClock is a sandbox clock the test moves by hand.
type stepClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *stepClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *stepClock) add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// wireAction is what the extension tests read of an action on the wire.
type wireAction struct {
	ID         string
	Payload    string
	ApprovedBy *[]extApprover `json:"approvedBy"`
}

func (e *env) get(id string) (wireAction, []byte) {
	e.t.Helper()
	st, _, b := e.do("GET", "/actions/"+id, "")
	var a wireAction
	if err := json.Unmarshal(b, &a); st != 200 || err != nil {
		e.t.Fatalf("GET %s: %d %v %s", id, st, err, b)
	}
	return a, b
}

// Extended mode says who approved so far and when, in decision order, on
// GET, the list and the feed; minimal mode never does.
func TestApprovedByBothModes(t *testing.T) {
	for _, p := range protocols {
		t.Run(string(p), func(t *testing.T) {
			c := &stepClock{t: time.Now().Truncate(time.Second)}
			e := newEnv(t, Options{Protocol: p, Now: c.now})
			id := AddCustom(t, e.s, CustomAction{Wallet: "wal-eth-treasury"}) // 2 of operator, alice, bob
			a, raw := e.get(id)
			if p == ProtocolMinimal {
				if a.ApprovedBy != nil || strings.Contains(string(raw), "approvedBy") {
					t.Fatalf("minimal mode sent approvedBy: %s", raw)
				}
			} else if a.ApprovedBy == nil || len(*a.ApprovedBy) != 0 {
				t.Fatalf("before any approval approvedBy is %s, want []", raw)
			}
			c.add(time.Minute)
			approvedAt := c.now()
			if st, _, b := e.do("POST", "/actions/"+id, e.decisionBody(id, 3, e.sk)); st != 200 {
				t.Fatalf("approve: %d %s", st, b)
			}
			a, raw = e.get(id)
			if p == ProtocolMinimal {
				if a.ApprovedBy != nil {
					t.Fatalf("minimal mode sent approvedBy: %s", raw)
				}
				for _, f := range e.feed() {
					if strings.Contains(string(f), "approvedBy") {
						t.Fatalf("minimal feed frame with approvedBy: %s", f)
					}
				}
				return
			}
			want := extApprover{ID: e.kid, Name: "qapprove console", Time: approvedAt.Unix()}
			if l := *a.ApprovedBy; len(l) != 1 || l[0] != want {
				t.Fatalf("approvedBy %s, want [%+v]", raw, want)
			}
			info, _ := e.s.Action(id)
			if info.Status != StatusPending {
				t.Fatalf("status %d after 1 of 2", info.Status)
			}
			c.add(time.Minute)
			if err := e.s.DecideAsOther(id, true); err != nil {
				t.Fatal(err)
			}
			_, raw = e.get(id)
			var got struct{ ApprovedBy []extApprover }
			_ = json.Unmarshal(raw, &got)
			if l := got.ApprovedBy; len(l) != 2 || l[0] != want || l[1].Name != "Alice Moreau (Risk)" || l[1].Time != c.now().Unix() {
				t.Fatalf("after the co-approver: %s", raw)
			}
		})
	}
}

// The scenario's prior approvals carry the approver's name; the feed
// replay carries them too.
func TestApprovedByScenarioAndFeed(t *testing.T) {
	e := newEnv(t, Options{})
	var id string
	for _, x := range e.s.ActionIDs() {
		if info, _ := e.s.Action(x); strings.Contains(string(info.Payload), "Quarterly rebalancing") {
			id = x
		}
	}
	if id == "" {
		t.Fatal("the scenario's rebalancing action is missing")
	}
	for _, f := range e.feed() {
		if !strings.Contains(string(f), id) {
			continue
		}
		var a wireAction
		if err := json.Unmarshal(f, &a); err != nil || a.ApprovedBy == nil || len(*a.ApprovedBy) != 1 || (*a.ApprovedBy)[0].Name != "Alice Moreau (Risk)" {
			t.Fatalf("feed frame %s", f)
		}
		return
	}
	t.Fatal("no feed frame for the rebalancing action")
}

func payloadOf(t *testing.T, a wireAction) map[string]any {
	t.Helper()
	b, err := base64.StdEncoding.DecodeString(a.Payload)
	var m map[string]any
	if err != nil || json.Unmarshal(b, &m) != nil {
		t.Fatalf("payload %q", a.Payload)
	}
	return m
}

// Calldata goes into the extended payload as externalExtension.data,
// exactly as given (hostile or not); minimal mode leaves it out.
func TestCalldataBothModes(t *testing.T) {
	for _, p := range protocols {
		t.Run(string(p), func(t *testing.T) {
			e := newEnv(t, Options{Protocol: p})
			for _, data := range []string{"0xa9059cbb00", "0xnot-hex\u202e"} {
				id := AddCustom(t, e.s, CustomAction{Data: data})
				info, _ := e.s.Action(id)
				var pl struct{ ExternalExtension map[string]any }
				if err := json.Unmarshal(info.Payload, &pl); err != nil {
					t.Fatal(err)
				}
				got, has := pl.ExternalExtension["data"]
				if p == ProtocolMinimal && has {
					t.Fatalf("minimal payload carries data: %s", info.Payload)
				}
				if p == ProtocolExtended && got != data {
					t.Fatalf("extended payload data %v, want %q", got, data)
				}
			}
			if p == ProtocolExtended {
				a, _ := e.get(AddCustom(t, e.s, CustomAction{}))
				ext, _ := payloadOf(t, a)["externalExtension"].(map[string]any)
				if _, has := ext["data"]; has {
					t.Fatal("a plain transfer carries data")
				}
			}
		})
	}
}

// The demo scenario has the three contract calls, and a scenario's data
// must be well-formed hex.
func TestScenarioCalldata(t *testing.T) {
	e := newEnv(t, Options{})
	found := map[string]bool{}
	for _, id := range e.s.ActionIDs() {
		info, _ := e.s.Action(id)
		for _, sel := range []string{`"data":"0x095ea7b3`, `"data":"0x23b872dd`, `"data":"0xb6b55f25`} {
			if strings.Contains(string(info.Payload), sel) {
				found[sel] = true
			}
		}
	}
	if len(found) != 3 {
		t.Fatalf("scenario calls found: %v", found)
	}
	const head = "[[networks]]\nid='e'\nname='E'\nfamily='evm'\n[[assets]]\nid='A'\nsymbol='A'\ndecimals=0\nnetwork='e'\n" +
		"[[policies]]\nid='p'\nname='p'\nthreshold=1\nmembers=['operator']\n[[wallets]]\nid='w'\nnetwork='e'\npolicy='p'\naddress='0x1'\n" +
		"[[actions]]\nwallet='w'\nasset='A'\nto='0x2'\namount='1'\n"
	if _, err := ParseScenario([]byte(head + "data='0xa9059cbb'\n")); err != nil {
		t.Fatalf("good data refused: %v", err)
	}
	for _, bad := range []string{"a9059cbb", "0xabc", "0xzz", "0x" + strings.Repeat("00", 65<<10)} {
		if _, err := ParseScenario([]byte(head + "data='" + bad + "'\n")); err == nil {
			t.Errorf("data %.12q accepted", bad)
		}
	}
	if _, err := e.s.AddAction(ActionSpec{Wallet: "wal-eth-sepolia", Asset: "SepoliaETH", To: "0x2", Amount: "1", Data: "0xzz"}); err == nil {
		t.Error("AddAction took malformed data")
	}
}
