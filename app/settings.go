package app

import (
	"fmt"
	"net/url"

	"github.com/qapprove/qapprove/client"
	"github.com/qapprove/qapprove/storage"
)

// ValidateSettings checks the profile values of step 1 before anything
// goes on the network: the profile rules, plus https for every host but a
// loopback one (the sandbox).
func ValidateSettings(p storage.Profile) error {
	if err := p.Validate(); err != nil {
		return err
	}
	u, err := url.Parse(p.APIBaseURL)
	if err != nil {
		return fmt.Errorf("api_base_url %q is not a URL", p.APIBaseURL)
	}
	if u.Scheme != "https" && !client.IsLoopbackHost(u.Hostname()) {
		return fmt.Errorf("the API base URL must use https:// (http:// only for a loopback sandbox), not %q", p.APIBaseURL)
	}
	return nil
}
