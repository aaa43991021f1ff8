//! Mutation payloads: the result, or the validation problems as `userErrors`.

/// Declares `$name { $field: Option<$ty>, userErrors: [UserError!]! }` and `$name::from_result`,
/// which turns `ApiError::Invalid` into `userErrors` and lets every other error through.
#[macro_export]
macro_rules! payload {
    ($(#[$doc:meta])* $name:ident { $field:ident: $ty:ty }) => {
        $(#[$doc])*
        #[derive(async_graphql::SimpleObject)]
        pub struct $name {
            pub $field: Option<$ty>,
            pub user_errors: Vec<$crate::error::UserError>,
        }

        impl $name {
            pub fn from_result(result: $crate::error::ApiResult<$ty>) -> $crate::error::ApiResult<Self> {
                match result {
                    Ok(value) => Ok(Self { $field: Some(value), user_errors: Vec::new() }),
                    Err($crate::error::ApiError::Invalid(user_errors)) => Ok(Self { $field: None, user_errors }),
                    Err(error) => Err(error),
                }
            }
        }
    };
}
