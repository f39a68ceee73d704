"""What machines read from the running site: sitemap, robots.txt, Atom feed, social cards."""
