"""The write-off pages: the Write-Offs page and its drawers, approvals, bulk runs,
reports and the home page."""
