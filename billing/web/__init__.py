"""The billing pages: accounts, invoices, payments and the books; the error pages; the
htmx helpers, forms and pagination every page shares."""
