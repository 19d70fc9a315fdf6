package main

import (
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/qapprove/qapprove/sandbox"
)

// sandboxOptions are the flags of `qapprove sandbox`.
type sandboxOptions struct {
	addr, scenario, protocol, messages string
	actions                            int
	arrivals, coDelay, adminAfter      time.Duration
	adminApproval                      bool
}

func sandboxCmd(c *cli) *cobra.Command {
	var o sandboxOptions
	cmd := &cobra.Command{
		Use:   "sandbox",
		Short: "run the sandbox server alone (prints its URL, API key id and secret)",
		Long: `Sandbox runs a local Qredo API v2 server on loopback, with the demo scenario
or --scenario FILE, until Ctrl-C. It prints base_url, workspace_id,
api_key_id, api_secret and protocol, one "key: value" per line, for
"keys register --non-interactive" and for scripts.

--protocol minimal serves only the confirmed protocol; extended (the default)
adds qapprove's documented extensions. Faults are injected through
POST /_admin/faults (see docs/PROTOCOL.md).`,
		Example: `  qapprove sandbox
  qapprove sandbox --protocol minimal --actions 1000 --arrivals 30s`,
		Args:              noArgs,
		ValidArgsFunction: cobra.NoFileCompletions,
		RunE:              c.do(func([]string) int { return runSandbox(c.env, o) }),
	}
	f := cmd.Flags()
	f.StringVar(&o.addr, "addr", "127.0.0.1:0", "loopback `ADDRESS` to listen on")
	f.StringVar(&o.scenario, "scenario", "", "scenario TOML `FILE` (default: the embedded demo)")
	f.IntVar(&o.actions, "actions", 0, "generate `N` more pending actions")
	f.DurationVar(&o.arrivals, "arrivals", 0, "a new action arrives this often (0 = off)")
	f.DurationVar(&o.coDelay, "co-approver-delay", 20*time.Second, "simulated co-approvers approve this long after you (0 = never)")
	f.StringVar(&o.protocol, "protocol", string(sandbox.ProtocolExtended), "minimal (only the confirmed protocol) or extended (with qapprove's extensions)")
	f.StringVar(&o.messages, "messages", "", "message layout: sandbox (checkable) or opaque (like Qredo); default sandbox in extended mode, opaque in minimal mode")
	f.BoolVar(&o.adminApproval, "admin-approval", false, "extended mode: a key update also needs an admin's approval (always so in minimal mode)")
	f.DurationVar(&o.adminAfter, "admin-approve-after", 15*time.Second, "an admin approves a proven key update this long after (0 = only POST /_admin/key-updates/approve)")
	c.completeFlag(cmd, "protocol", "minimal", "extended")
	c.completeFlag(cmd, "messages", "sandbox", "opaque")
	for _, n := range []string{"addr", "actions", "arrivals", "co-approver-delay", "admin-approve-after"} {
		c.completeFlag(cmd, n)
	}
	return cmd
}

// runSandbox starts the sandbox on loopback, prints how to reach it (one
// "key: value" per line) and serves until SIGINT/SIGTERM.
func runSandbox(env *Env, o sandboxOptions) int {
	if o.actions < 0 || o.actions > 1_000_000 {
		return env.Errf(exitUsage, "sandbox: --actions must be between 0 and 1000000")
	}
	proto, err := sandbox.ParseProtocol(o.protocol)
	if err != nil {
		return env.Errf(exitUsage, "sandbox: --protocol must be minimal or extended, not %q", o.protocol)
	}
	layout, err := sandbox.ParseMessageLayout(o.messages)
	if err != nil {
		return env.Errf(exitUsage, "sandbox: --messages must be sandbox or opaque, not %q", o.messages)
	}
	if o.adminAfter < 0 {
		return env.Errf(exitUsage, "sandbox: --admin-approve-after must not be negative")
	}
	opts := sandbox.Options{ExtraActions: o.actions, ArrivalEvery: o.arrivals, CoApproverDelay: o.coDelay,
		Protocol: proto, Messages: layout, AdminApproval: o.adminApproval, AdminApproveAfter: o.adminAfter}
	if o.scenario != "" {
		b, err := readFileBounded(o.scenario, sandbox.MaxScenarioBytes)
		if err != nil {
			return env.Errf(exitUsage, "sandbox: %v", err)
		}
		opts.Scenario = b
	}
	srv, err := sandbox.New(opts)
	if err != nil {
		return env.Errf(exitUsage, "sandbox: %v", err)
	}
	base, err := srv.Start(o.addr)
	if err != nil {
		return env.Errf(exitUsage, "sandbox: %v", err)
	}
	defer srv.Close()
	// Listen for the stop signal before saying the sandbox is up: a
	// script that reads the credentials and stops it at once must not
	// kill it by the default action.
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
	defer signal.Stop(sig)
	wid, kid, secret := srv.Credentials()
	fmt.Fprintf(env.Stdout, "base_url: %s\nworkspace_id: %s\napi_key_id: %s\napi_secret: %s\nprotocol: %s\n", base, wid, kid, secret, proto)
	admin := sandboxAdminBase(base) + "/_admin"
	fmt.Fprintf(env.Stderr, "qapprove: sandbox running (%s protocol); press Ctrl-C to stop (control: POST %s/faults, %s/actions, %s/key-updates/approve)\n", proto, admin, admin, admin)
	if f, ok := env.Stdout.(*os.File); ok {
		_ = f.Sync() // flush for a reading script; a terminal or pipe cannot sync
	}
	<-sig
	return exitOK
}

func sandboxAdminBase(base string) string {
	const suffix = "/api/v2"
	if len(base) > len(suffix) && base[len(base)-len(suffix):] == suffix {
		return base[:len(base)-len(suffix)]
	}
	return base
}
