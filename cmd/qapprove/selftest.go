package main

import (
	"fmt"
	"os"

	"github.com/qapprove/qapprove/crypto/selftest"
)

func init() {
	register(command{
		name:    "selftest",
		usage:   "[--vectors F]",
		summary: "known-answer tests of the crypto",
		run:     runSelftest,
	})
}

// runSelftest runs the built-in known-answer tests and, with --vectors, the
// vectors of that file too. It prints one line per failure and ends with
// "N passed, M failed". Exit 0 when nothing failed, 1 when something did,
// 2 for bad usage or an unreadable or invalid vectors file.
func runSelftest(env *Env, args []string) int {
	fs := newFlags("selftest")
	vectors := fs.String("vectors", "", "extra vectors file in the shared/vectors JSON format")
	if err := fs.Parse(args); err != nil {
		return flagUsage(env, fs, err)
	}
	if fs.NArg() != 0 {
		return env.Errf(exitUsage, "selftest: unexpected argument %q (usage: qapprove selftest [--vectors FILE])", fs.Arg(0))
	}

	var extra []selftest.Vector
	if *vectors != "" {
		f, err := os.Open(*vectors)
		if err != nil {
			return env.Errf(exitUsage, "selftest: cannot open vectors file: %v", err)
		}
		extra, err = selftest.ParseVectors(f)
		f.Close()
		if err != nil {
			return env.Errf(exitUsage, "selftest: %s: %v", *vectors, err)
		}
	}

	res := selftest.RunBuiltin()
	if extra != nil {
		res.Add(selftest.Run(extra))
	}
	for _, line := range res.Failures {
		fmt.Fprintf(env.Stdout, "FAIL %s\n", line)
	}
	fmt.Fprintf(env.Stdout, "%d passed, %d failed\n", res.Passed, res.Failed)
	if res.Failed != 0 {
		return exitFail
	}
	return exitOK
}
