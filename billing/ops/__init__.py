"""Running the site: middleware, system checks and the daily purges."""
