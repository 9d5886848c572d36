package loader

import "github.com/eventlake/eventlake/catalog"

// SetTestHook makes Run call hook at each step of its commit protocol with
// the load's catalog.
func SetTestHook(o *Options, hook func(step string, cat *catalog.Catalog)) { o.testHook = hook }
