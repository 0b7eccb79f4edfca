# Watermarks of the clinic ingestion: one item per source table with the last loaded timestamp.
# Stateful: deleting or replacing it loses the watermarks, so plans that would are blocked.
resource "aws_dynamodb_table" "ingest_watermarks" {
  name         = "clinic-ingest-watermarks-${var.environment}"
  billing_mode = "PAY_PER_REQUEST"
  hash_key     = "source_table"

  attribute {
    name = "source_table"
    type = "S"
  }

  point_in_time_recovery {
    enabled = true
  }

  server_side_encryption {
    enabled     = true
    kms_key_arn = var.kms_key_arn
  }

  deletion_protection_enabled = true

  tags = merge(var.tags, { "data-classification" = "internal" })
}

# Alerts for failed loads, encrypted with the same key.
resource "aws_sns_topic" "ingest_alerts" {
  name              = "clinic-ingest-alerts-${var.environment}"
  kms_master_key_id = var.kms_key_arn
  tags              = var.tags
}
