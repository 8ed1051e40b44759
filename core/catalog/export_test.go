package catalog

// SlugKeys are the slugs the catalog maps to consultations (for tests).
func SlugKeys(c *Catalog) []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []string
	for k := range c.bySlug {
		out = append(out, k.slug)
	}
	return out
}

// Pointers is how many slugs and proposals the catalog maps to consultations (for tests).
func Pointers(c *Catalog) (slugs, proposals int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.bySlug), len(c.byProposal)
}
