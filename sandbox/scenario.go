package sandbox

import (
	"bytes"
	"encoding/hex"
	"fmt"
	"strings"
	"time"

	"github.com/pelletier/go-toml/v2"
)

// MaxScenarioBytes bounds a scenario file.
const MaxScenarioBytes = 1 << 20

// Scenario is the TOML description of a sandbox workspace
// (assets/scenario/default.toml is the reference example).
type Scenario struct {
	Workspace struct {
		ID   string `toml:"id"`
		Name string `toml:"name"`
	} `toml:"workspace"`
	Operator struct {
		KeyID string `toml:"key_id"`
		Name  string `toml:"name"`
	} `toml:"operator"`
	Approvers []ScenarioApprover `toml:"approvers"`
	Networks  []ScenarioNetwork  `toml:"networks"`
	Assets    []ScenarioAsset    `toml:"assets"`
	Policies  []ScenarioPolicy   `toml:"policies"`
	Wallets   []ScenarioWallet   `toml:"wallets"`
	Actions   []ActionSpec       `toml:"actions"`
}

// ScenarioApprover is a simulated co-approver (the sandbox holds its key).
type ScenarioApprover struct {
	Name    string `toml:"name"`
	KeyName string `toml:"key_name"`
}

// ScenarioNetwork is a chain.
type ScenarioNetwork struct {
	ID      string `toml:"id"`
	Name    string `toml:"name"`
	Family  string `toml:"family"`
	ChainID string `toml:"chain_id"`
	Testnet bool   `toml:"testnet"`
}

// ScenarioAsset is an asset on a network.
type ScenarioAsset struct {
	ID       string `toml:"id"`
	Symbol   string `toml:"symbol"`
	Decimals int    `toml:"decimals"`
	Network  string `toml:"network"`
	Contract string `toml:"contract"`
}

// ScenarioPolicy is a Transaction Policy; members are "operator" or
// approver names.
type ScenarioPolicy struct {
	ID        string   `toml:"id"`
	Name      string   `toml:"name"`
	Threshold int      `toml:"threshold"`
	Members   []string `toml:"members"`
}

// ScenarioWallet is a wallet governed by a policy, with its whitelist.
type ScenarioWallet struct {
	ID        string `toml:"id"`
	Name      string `toml:"name"`
	Network   string `toml:"network"`
	Policy    string `toml:"policy"`
	Address   string `toml:"address"`
	Whitelist []struct {
		Address string `toml:"address"`
		Name    string `toml:"name"`
	} `toml:"whitelist"`
}

// ActionSpec describes a transaction action to create (scenario files,
// Server.AddAction).
type ActionSpec struct {
	Wallet     string   `toml:"wallet"`
	Asset      string   `toml:"asset"` // asset id
	To         string   `toml:"to"`
	Amount     string   `toml:"amount"`     // base units
	ExpiresIn  string   `toml:"expires_in"` // Go duration from now
	Note       string   `toml:"note"`
	Initiator  string   `toml:"initiator"`
	ApprovedBy []string `toml:"approved_by"` // simulated approvers who already approved
	Data       string   `toml:"data"`        // EVM calldata, "0x" + hex (extended mode only)
}

// ParseScenario decodes and checks a scenario (strict: unknown keys fail).
func ParseScenario(b []byte) (*Scenario, error) {
	if len(b) > MaxScenarioBytes {
		return nil, fmt.Errorf("scenario is larger than %d bytes", MaxScenarioBytes)
	}
	var s Scenario
	d := toml.NewDecoder(bytes.NewReader(b))
	d.DisallowUnknownFields()
	if err := d.Decode(&s); err != nil {
		if de, ok := err.(*toml.DecodeError); ok {
			row, col := de.Position()
			return nil, fmt.Errorf("scenario %d:%d: %s", row, col, de.Error())
		}
		if se, ok := err.(*toml.StrictMissingError); ok {
			return nil, fmt.Errorf("scenario: %s", se.String())
		}
		return nil, fmt.Errorf("scenario: %v", err)
	}
	return &s, s.check()
}

func (s *Scenario) check() error {
	if s.Workspace.ID != "" && !validID(s.Workspace.ID) {
		return fmt.Errorf("scenario: workspace id %q is not a valid ID", s.Workspace.ID)
	}
	if s.Operator.KeyID != "" && !validID(s.Operator.KeyID) {
		return fmt.Errorf("scenario: operator key_id %q is not a valid ID", s.Operator.KeyID)
	}
	names := map[string]bool{"operator": true}
	for _, a := range s.Approvers {
		if a.Name == "" || names[a.Name] {
			return fmt.Errorf("scenario: approver name %q is empty or repeated", a.Name)
		}
		names[a.Name] = true
	}
	nets := map[string]bool{}
	for _, n := range s.Networks {
		if n.ID == "" || n.Name == "" || (n.Family != "evm" && n.Family != "bitcoin") {
			return fmt.Errorf("scenario: network %q needs id, name and family evm or bitcoin", n.ID)
		}
		nets[n.ID] = true
	}
	assets := map[string]string{}
	for _, a := range s.Assets {
		if a.ID == "" || a.Symbol == "" || !nets[a.Network] || a.Decimals < 0 || a.Decimals > 36 {
			return fmt.Errorf("scenario: asset %q needs id, symbol, decimals 0..36 and a known network", a.ID)
		}
		assets[a.ID] = a.Network
	}
	pols := map[string]bool{}
	for _, p := range s.Policies {
		if !validID(p.ID) || p.Threshold < 1 || p.Threshold > len(p.Members) {
			return fmt.Errorf("scenario: policy %q needs a valid id and 1 <= threshold <= members", p.ID)
		}
		for _, m := range p.Members {
			if !names[m] {
				return fmt.Errorf("scenario: policy %q member %q is neither operator nor an approver", p.ID, m)
			}
		}
		pols[p.ID] = true
	}
	wallets := map[string]string{}
	for _, w := range s.Wallets {
		if !validID(w.ID) || !nets[w.Network] || !pols[w.Policy] || w.Address == "" {
			return fmt.Errorf("scenario: wallet %q needs a valid id, a known network and policy, and an address", w.ID)
		}
		wallets[w.ID] = w.Network
	}
	for i, a := range s.Actions {
		net, ok := wallets[a.Wallet]
		if !ok {
			return fmt.Errorf("scenario: action %d names unknown wallet %q", i+1, a.Wallet)
		}
		if assets[a.Asset] != net {
			return fmt.Errorf("scenario: action %d asset %q is not on the wallet's network", i+1, a.Asset)
		}
		if _, err := a.expiry(); err != nil {
			return fmt.Errorf("scenario: action %d: %v", i+1, err)
		}
		if !digits(a.Amount) || a.To == "" {
			return fmt.Errorf("scenario: action %d needs a decimal amount and a destination", i+1)
		}
		if a.Data != "" && !calldata(a.Data) {
			return fmt.Errorf("scenario: action %d data must be 0x followed by an even number of hex digits", i+1)
		}
		for _, n := range a.ApprovedBy {
			if !names[n] || n == "operator" {
				return fmt.Errorf("scenario: action %d approved_by %q is not an approver", i+1, n)
			}
		}
	}
	return nil
}

func (a ActionSpec) expiry() (time.Duration, error) {
	if a.ExpiresIn == "" {
		return time.Hour, nil
	}
	d, err := time.ParseDuration(a.ExpiresIn)
	if err != nil || d <= 0 {
		return 0, fmt.Errorf("expires_in %q is not a positive duration like 30m", a.ExpiresIn)
	}
	return d, nil
}

// calldata reports whether s is "0x" and an even number of hex digits,
// at most 64 KiB of bytes.
func calldata(s string) bool {
	h, ok := strings.CutPrefix(s, "0x")
	if !ok || len(h)%2 != 0 || len(h) > 128<<10 {
		return false
	}
	_, err := hex.DecodeString(h)
	return err == nil
}

// digits reports whether s is a non-empty decimal number of at most 78 digits.
func digits(s string) bool {
	if s == "" || len(s) > 78 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}
