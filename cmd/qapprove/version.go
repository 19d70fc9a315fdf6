package main

import (
	"fmt"
	"runtime"
	"runtime/debug"

	"github.com/spf13/cobra"
)

// blsModule is the BLS library whose version `version --json` reports.
const blsModule = "github.com/herumi/bls-eth-go-binary"

// buildInfo is what `qapprove version --json` prints.
type buildInfo struct {
	Version    string `json:"version"`
	Commit     string `json:"commit"`
	GoVersion  string `json:"go_version"`
	BLSVersion string `json:"bls_version"`
	Platform   string `json:"platform"` // GOOS/GOARCH of the binary
}

// currentBuild describes this binary: the version and commit stamped by
// the linker (the commit falls back to the VCS stamp of a plain go build),
// the Go toolchain, the BLS library's module version and the platform.
func currentBuild() buildInfo {
	b := buildInfo{Version: version, Commit: commit, GoVersion: runtime.Version(),
		BLSVersion: "unknown", Platform: runtime.GOOS + "/" + runtime.GOARCH}
	info, ok := debug.ReadBuildInfo()
	if ok {
		b.BLSVersion = moduleVersion(info, blsModule)
		if b.Commit == "" {
			b.Commit = vcsRevision(info)
		}
	}
	if b.Commit == "" {
		b.Commit = "unknown"
	}
	return b
}

// moduleVersion is the version of module path among the build's
// dependencies (its replacement's when replaced), or "unknown".
func moduleVersion(info *debug.BuildInfo, path string) string {
	for _, m := range info.Deps {
		if m.Path != path {
			continue
		}
		if m.Replace != nil && m.Replace.Version != "" {
			return m.Replace.Version
		}
		return m.Version
	}
	return "unknown"
}

// vcsRevision is the vcs.revision build setting, or "".
func vcsRevision(info *debug.BuildInfo) string {
	for _, s := range info.Settings {
		if s.Key == "vcs.revision" {
			return s.Value
		}
	}
	return ""
}

func versionCmd(c *cli) *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "version",
		Short: "print the version",
		Long: "Version prints \"qapprove\" and the version of this build (as --version does).\n" +
			"With --json: the version, commit, Go version, BLS library version and platform (GOOS/GOARCH).",
		Example:           "  qapprove version\n  qapprove version --json",
		Args:              noArgs,
		ValidArgsFunction: cobra.NoFileCompletions,
		RunE: c.do(func([]string) int {
			if asJSON {
				if err := c.env.WriteJSON(currentBuild()); err != nil {
					return c.env.Errf(exitFail, "%v", err)
				}
				return exitOK
			}
			fmt.Fprintf(c.env.Stdout, "qapprove %s\n", version)
			return exitOK
		}),
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print version, commit, Go and BLS library versions and platform as JSON")
	return cmd
}
