//! The kinds of people in a case. Names in code are English; the UI shows Chinese labels.

macro_rules! str_enum {
    ($(#[$m:meta])* $name:ident { $($variant:ident = $s:literal),+ $(,)? }) => {
        $(#[$m])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, ::serde::Serialize, ::serde::Deserialize)]
        #[serde(rename_all = "snake_case")]
        pub enum $name { $($variant),+ }
        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];
            pub fn as_str(self) -> &'static str { match self { $($name::$variant => $s),+ } }
            pub fn parse(s: &str) -> Option<Self> { match s { $($s => Some($name::$variant),)+ _ => None } }
        }
        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result { f.write_str(self.as_str()) }
        }
    };
}
pub(crate) use str_enum;

str_enum! {
    /// Staff roles (one per account).
    StaffRole { Admin = "admin", Arbitrator = "arbitrator", Clerk = "clerk", Mediator = "mediator" }
}

str_enum! {
    /// The role an invitation grants to someone without an account.
    InviteeRole { Applicant = "applicant", Respondent = "respondent", Agent = "agent", Witness = "witness", Observer = "observer" }
}

str_enum! {
    Side { Applicant = "applicant", Respondent = "respondent" }
}

str_enum! {
    PartyKind { Person = "person", Organisation = "organisation" }
}

str_enum! {
    /// 一般授权 / 特别授权 (a special authority may admit, waive, settle and withdraw).
    AgentAuthority { General = "general", Special = "special" }
}

str_enum! {
    /// 一般程序 / 简易处理.
    Procedure { Ordinary = "ordinary", Simplified = "simplified" }
}

impl Side {
    pub fn opposite(self) -> Side {
        match self {
            Side::Applicant => Side::Respondent,
            Side::Respondent => Side::Applicant,
        }
    }
}

impl StaffRole {
    pub fn label_zh(self) -> &'static str {
        match self {
            StaffRole::Admin => "管理员",
            StaffRole::Arbitrator => "仲裁员",
            StaffRole::Clerk => "书记员",
            StaffRole::Mediator => "调解员",
        }
    }
}
