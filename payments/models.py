"""SEPA mandates and batches, payments, bank rejections, dunning (built by the payments issue)."""
