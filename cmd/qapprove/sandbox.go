package main

import (
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/qapprove/qapprove/sandbox"
)

func init() {
	register(command{
		name:    "sandbox",
		usage:   "[--protocol minimal|extended] [--messages sandbox|opaque] [--admin-approval] [--admin-approve-after D] [--addr A] [--scenario F] [--actions N] [--arrivals DURATION] [--co-approver-delay D]",
		summary: "run the sandbox server alone (prints its URL, API key id and secret)",
		run:     runSandbox,
	})
}

// runSandbox starts the sandbox on loopback, prints how to reach it (one
// "key: value" per line) and serves until SIGINT/SIGTERM.
func runSandbox(env *Env, args []string) int {
	fs := newFlags("sandbox")
	addr := fs.String("addr", "127.0.0.1:0", "loopback address to listen on")
	scenario := fs.String("scenario", "", "scenario TOML file (default: the embedded demo)")
	actions := fs.Int("actions", 0, "generate this many more pending actions")
	arrivals := fs.Duration("arrivals", 0, "a new action arrives this often (0 = off)")
	coDelay := fs.Duration("co-approver-delay", 20*time.Second, "simulated co-approvers approve this long after you (0 = never)")
	protocol := fs.String("protocol", string(sandbox.ProtocolExtended), "minimal (only the confirmed protocol) or extended (with qapprove's extensions)")
	messages := fs.String("messages", "", "message layout: sandbox (checkable) or opaque (like Qredo); default sandbox in extended mode, opaque in minimal mode")
	adminApproval := fs.Bool("admin-approval", false, "extended mode: a key update also needs an admin's approval (always so in minimal mode)")
	adminAfter := fs.Duration("admin-approve-after", 15*time.Second, "an admin approves a proven key update this long after (0 = only POST /_admin/key-updates/approve)")
	if err := fs.Parse(args); err != nil {
		return env.Errf(exitUsage, "sandbox: %v", err)
	}
	if fs.NArg() > 0 {
		return env.Errf(exitUsage, "sandbox: unexpected argument %q", fs.Arg(0))
	}
	if *actions < 0 || *actions > 1_000_000 {
		return env.Errf(exitUsage, "sandbox: --actions must be between 0 and 1000000")
	}
	proto, err := sandbox.ParseProtocol(*protocol)
	if err != nil {
		return env.Errf(exitUsage, "sandbox: --protocol must be minimal or extended, not %q", *protocol)
	}
	layout, err := sandbox.ParseMessageLayout(*messages)
	if err != nil {
		return env.Errf(exitUsage, "sandbox: --messages must be sandbox or opaque, not %q", *messages)
	}
	if *adminAfter < 0 {
		return env.Errf(exitUsage, "sandbox: --admin-approve-after must not be negative")
	}
	opts := sandbox.Options{ExtraActions: *actions, ArrivalEvery: *arrivals, CoApproverDelay: *coDelay,
		Protocol: proto, Messages: layout, AdminApproval: *adminApproval, AdminApproveAfter: *adminAfter}
	if *scenario != "" {
		b, err := readFileBounded(*scenario, sandbox.MaxScenarioBytes)
		if err != nil {
			return env.Errf(exitUsage, "sandbox: %v", err)
		}
		opts.Scenario = b
	}
	srv, err := sandbox.New(opts)
	if err != nil {
		return env.Errf(exitUsage, "sandbox: %v", err)
	}
	base, err := srv.Start(*addr)
	if err != nil {
		return env.Errf(exitUsage, "sandbox: %v", err)
	}
	defer srv.Close()
	wid, kid, secret := srv.Credentials()
	fmt.Fprintf(env.Stdout, "base_url: %s\nworkspace_id: %s\napi_key_id: %s\napi_secret: %s\nprotocol: %s\n", base, wid, kid, secret, proto)
	admin := sandboxAdminBase(base) + "/_admin"
	fmt.Fprintf(env.Stderr, "qapprove: sandbox running (%s protocol); press Ctrl-C to stop (control: POST %s/faults, %s/actions, %s/key-updates/approve)\n", proto, admin, admin, admin)
	if f, ok := env.Stdout.(*os.File); ok {
		f.Sync()
	}
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
	defer signal.Stop(sig)
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
