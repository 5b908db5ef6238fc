"""Retention: the FERPA record of disclosures (34 CFR 99.32), destruction of data at the end of
an agreement (Exhibit C) and of our own copies, the public register and the reports page."""
