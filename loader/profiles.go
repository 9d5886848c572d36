package loader

import (
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/eventlake/eventlake/config"
	"github.com/eventlake/eventlake/loader/csvtable"
	"github.com/eventlake/eventlake/loader/profile"
)

// profileSet resolves profile names: built-ins, the config's generic mapping
// and its named profiles, and auto.
type profileSet struct {
	named map[string]profile.Profile
	auto  []profile.Profile
	csv   map[string]*csvtable.Profile // delimited-file profiles (jwo-orders, csv_profiles:)
}

func buildProfiles(c *config.Config) (*profileSet, error) {
	ps := &profileSet{named: map[string]profile.Profile{}, csv: csvtable.Profiles(c)}
	for _, n := range profile.Names() {
		p, _ := profile.Builtin(n)
		ps.named[n] = p
	}
	// auto tries the vendor envelopes first, then the user's mappings.
	ps.auto = []profile.Profile{ps.named["pismo"], ps.named["fulfillmenttools"]}
	var names []string
	for n := range c.Profiles {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		g, err := profile.NewGeneric(n, c.Profiles[n])
		if err != nil {
			return nil, err
		}
		ps.named[n] = g
		ps.auto = append(ps.auto, g)
	}
	if c.Generic != nil {
		g, err := profile.NewGeneric("generic", *c.Generic)
		if err != nil {
			return nil, err
		}
		ps.named["generic"] = g
		ps.auto = append(ps.auto, g)
	}
	return ps, nil
}

// CheckProfiles reports, before anything is read, whether each name is a
// profile of cfg (built in, or from the config); an unknown one wraps
// ErrUnknownProfile. Empty names (the default, auto) pass.
func CheckProfiles(cfg *config.Config, names ...string) error {
	ps, err := buildProfiles(cfg)
	if err != nil {
		return err
	}
	for _, n := range names {
		if n == "" {
			continue
		}
		if err := ps.check(n); err != nil {
			return err
		}
	}
	return nil
}

// check reports whether name is a profile (JSON or CSV).
func (ps *profileSet) check(name string) error {
	if ps.csv[name] != nil {
		return nil
	}
	_, err := ps.resolve(name)
	return err
}

// resolve returns the JSON profile named, or auto's candidates.
func (ps *profileSet) resolve(name string) ([]profile.Profile, error) {
	if name == "auto" {
		return ps.auto, nil
	}
	if p, ok := ps.named[name]; ok {
		return []profile.Profile{p}, nil
	}
	if name == "generic" {
		return nil, profileError{"profile generic needs a mapping: add a generic: section (event_id, timestamp, …) to the config file"}
	}
	known := []string{"generic"} // always a choice, once mapped in the config
	for n := range ps.named {
		if n != "generic" {
			known = append(known, n)
		}
	}
	for n := range ps.csv {
		known = append(known, n)
	}
	sort.Strings(known)
	return nil, profileError{fmt.Sprintf("unknown profile %q (known: auto, %s)", name, strings.Join(known, ", "))}
}

// ErrUnknownProfile is wrapped by the error for a profile name that is
// neither built in nor in the config: a usage error.
var ErrUnknownProfile = errors.New("unknown profile")

type profileError struct{ msg string }

func (e profileError) Error() string { return e.msg }
func (profileError) Unwrap() error   { return ErrUnknownProfile }
