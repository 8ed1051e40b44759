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
