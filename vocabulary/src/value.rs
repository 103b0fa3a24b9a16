//! Dimension values AWS itself defines (as opposed to resource names, which come from the platform
//! spec): a reader that misspells one of these gets no data and no error, exactly like a misspelt metric
//! name.
//!
//! Sources: S3's storage-metric dimensions
//! (<https://docs.aws.amazon.com/AmazonS3/latest/userguide/metrics-dimensions.html#s3-cloudwatch-dimensions>)
//! and the billing metric's `Currency`
//! (<https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/monitor_estimated_charges_with_cloudwatch.html>).
//!
//! ```
//! use vocabulary::{MetricRef, aws::s3, dimension, value};
//! let m = MetricRef::of(s3::BUCKET_SIZE_BYTES)
//!     .with_dimension(dimension::BUCKET_NAME, "uploads")
//!     .with_dimension(dimension::STORAGE_TYPE, value::STANDARD_STORAGE);
//! assert!(m.check_aws().is_ok());
//! ```

/// `Currency` of `AWS/Billing` `EstimatedCharges`: billing metrics are published in US dollars only.
pub const USD: &str = "USD";
/// S3 `StorageType` of `BucketSizeBytes` in the S3 Standard class.
pub const STANDARD_STORAGE: &str = "StandardStorage";
/// S3 `StorageType` of `NumberOfObjects`: every class together (the only value it is published with).
pub const ALL_STORAGE_TYPES: &str = "AllStorageTypes";

#[cfg(test)]
mod tests {
    //! Spellings copied from the AWS pages named in the module docs.
    use super::*;

    #[test]
    fn values_are_spelt_as_aws_publishes_them() {
        assert_eq!(USD, "USD");
        assert_eq!(STANDARD_STORAGE, "StandardStorage");
        assert_eq!(ALL_STORAGE_TYPES, "AllStorageTypes");
    }
}
