output "watermark_table_name" {
  description = "Name of the ingestion watermark table."
  value       = aws_dynamodb_table.ingest_watermarks.name
}

output "alerts_topic_arn" {
  description = "ARN of the ingestion alerts topic."
  value       = aws_sns_topic.ingest_alerts.arn
}
