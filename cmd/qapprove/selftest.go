package main

import (
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"github.com/qapprove/qapprove/crypto/selftest"
)

func selftestCmd(c *cli) *cobra.Command {
	var vectors string
	cmd := &cobra.Command{
		Use:   "selftest",
		Short: "known-answer tests of the crypto",
		Long: `Selftest runs the built-in known-answer tests of the crypto (the Qredo BLS
vectors and a few round trips), and with --vectors the vectors of FILE too
(the shared/vectors JSON format). It prints one line per failure and ends with "N passed, M failed".
Exit 0 when nothing failed, 1 when something did, 2 for a bad vectors file.`,
		Example:           "  qapprove selftest\n  qapprove selftest --vectors qredo-bls-milagro.json",
		Args:              noArgs,
		ValidArgsFunction: cobra.NoFileCompletions,
		RunE:              c.do(func([]string) int { return runSelftest(c.env, vectors) }),
	}
	cmd.Flags().StringVar(&vectors, "vectors", "", "extra vectors `FILE` in the shared/vectors JSON format")
	return cmd
}

// runSelftest runs the built-in known-answer tests and, with --vectors, the
// vectors of that file too. It prints one line per failure and ends with
// "N passed, M failed". Exit 0 when nothing failed, 1 when something did,
// 2 for bad usage or an unreadable or invalid vectors file.
func runSelftest(env *Env, vectors string) int {
	var extra []selftest.Vector
	if vectors != "" {
		f, err := os.Open(vectors)
		if err != nil {
			return env.Errf(exitUsage, "selftest: cannot open vectors file: %v", err)
		}
		extra, err = selftest.ParseVectors(f)
		_ = f.Close() // read-only: the parse result is what counts
		if err != nil {
			return env.Errf(exitUsage, "selftest: %s: %v", vectors, err)
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
