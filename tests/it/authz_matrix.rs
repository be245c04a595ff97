//! Every endpoint × every kind of caller, allow or deny. "Allow" means the request got
//! past authorization and succeeded (2xx); "deny" means 401, 403 or 404 and nothing
//! changed. Runs on SQLite and PostgreSQL.

use crate::common::{Backend, Client, TestServer, id_number};
use reqwest::StatusCode;
use serde_json::{Value, json};
use yunting::authz::Principal;
use yunting::domain::roles::StaffRole;
use yunting::store::{commissions, users};

#[tokio::test]
async fn matrix_sqlite() {
    matrix(Backend::Sqlite).await
}

#[tokio::test]
async fn matrix_postgres() {
    matrix(Backend::Postgres).await
}

const WHO: [&str; 8] = [
    "admin",
    "arbitrator",
    "clerk",
    "mediator",
    "party",
    "other_party",
    "foreign_clerk",
    "anonymous",
];

struct Endpoint {
    name: &'static str,
    allowed: &'static [&'static str],
}

const ENDPOINTS: &[Endpoint] = &[
    Endpoint {
        name: "GET /api/me",
        allowed: &[
            "admin",
            "arbitrator",
            "clerk",
            "mediator",
            "party",
            "other_party",
            "foreign_clerk",
        ],
    },
    Endpoint {
        name: "GET /api/users",
        allowed: &["admin"],
    },
    Endpoint {
        name: "POST /api/users",
        allowed: &["admin"],
    },
    Endpoint {
        name: "GET /api/staff",
        allowed: &["admin", "arbitrator", "clerk", "mediator", "foreign_clerk"],
    },
    Endpoint {
        name: "GET /api/cases",
        allowed: &[
            "admin",
            "arbitrator",
            "clerk",
            "mediator",
            "party",
            "other_party",
            "foreign_clerk",
        ],
    },
    Endpoint {
        name: "POST /api/cases",
        allowed: &["clerk", "foreign_clerk"],
    },
    Endpoint {
        name: "GET /api/cases/1",
        allowed: &["admin", "arbitrator", "clerk", "mediator", "party"],
    },
    Endpoint {
        name: "POST /api/cases/1/parties",
        allowed: &["clerk"],
    },
    Endpoint {
        name: "POST /api/cases/1/parties/1/agents",
        allowed: &["clerk"],
    },
    Endpoint {
        name: "POST /api/cases/1/claims",
        allowed: &["clerk"],
    },
    Endpoint {
        name: "POST /api/cases/1/counterclaims",
        allowed: &["clerk"],
    },
    Endpoint {
        name: "POST /api/cases/1/procedure",
        allowed: &["arbitrator", "clerk"],
    },
    Endpoint {
        name: "POST /api/cases/1/transition",
        allowed: &["arbitrator", "clerk"],
    },
    Endpoint {
        name: "POST /api/cases/1/hearings",
        allowed: &["clerk"],
    },
    Endpoint {
        name: "GET /api/cases/1/invitations",
        allowed: &["arbitrator", "clerk"],
    },
    Endpoint {
        name: "POST /api/cases/1/invitations",
        allowed: &["arbitrator", "clerk"],
    },
    Endpoint {
        name: "POST /api/invitations/{new}/revoke",
        allowed: &["arbitrator", "clerk"],
    },
    Endpoint {
        name: "GET /api/cases/1/audit",
        allowed: &["admin", "clerk"],
    },
    Endpoint {
        name: "GET /api/hearings/1",
        allowed: &["admin", "arbitrator", "clerk", "mediator", "party"],
    },
    Endpoint {
        name: "GET /api/hearings/1/stats",
        allowed: &["admin", "arbitrator", "clerk", "mediator"],
    },
    Endpoint {
        name: "GET /api/party/hearing",
        allowed: &["party", "other_party"],
    },
    Endpoint {
        name: "GET /api/commission/settings",
        allowed: &["admin"],
    },
    Endpoint {
        name: "GET /api/netcheck/ping",
        allowed: &[
            "admin",
            "arbitrator",
            "clerk",
            "mediator",
            "party",
            "other_party",
            "foreign_clerk",
        ],
    },
    Endpoint {
        name: "POST /api/hearings/1/device-check",
        allowed: &["admin", "arbitrator", "clerk", "mediator", "party"],
    },
    Endpoint {
        name: "GET /api/hearings/1/discipline",
        allowed: &["admin", "arbitrator", "clerk", "mediator", "party"],
    },
    Endpoint {
        name: "POST /api/hearings/1/discipline",
        allowed: &["party"],
    },
    Endpoint {
        name: "POST /api/hearings/1/control",
        allowed: &["arbitrator"],
    },
    Endpoint {
        name: "GET /api/hearings/1/events",
        allowed: &["admin", "arbitrator", "clerk", "mediator"],
    },
    Endpoint {
        name: "GET /api/hearings/1/recording",
        allowed: &["admin", "arbitrator", "clerk", "mediator"],
    },
    Endpoint {
        name: "GET /api/hearings/1/exhibits",
        allowed: &["admin", "arbitrator", "clerk", "mediator", "party"],
    },
];

async fn matrix(b: Backend) {
    let Some(srv) = TestServer::start(b).await else {
        return;
    };
    let demo = srv.demo().await;
    let clerk = srv.staff(&demo, "clerk").await;
    let staff_ids: Value = demo["staff"].clone();
    let id_of = |u: &str| {
        staff_ids
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["username"] == u)
            .unwrap()["id"]
            .as_i64()
            .unwrap()
    };

    // A party of another case of the same commission.
    let (other_id, other_party) = srv.party_of_another_case(&clerk).await;

    // A clerk of another commission.
    {
        let mut tx = srv.app.db.write().await.unwrap();
        let c = commissions::create(
            &mut tx,
            &srv.app,
            &Principal::System,
            "深圳市劳动人事争议仲裁委员会",
            "深劳人仲案",
        )
        .await
        .unwrap();
        users::create(
            &mut tx,
            &Principal::System,
            c.id,
            &users::NewUser {
                username: "foreign".into(),
                display_name: "外委书记".into(),
                role: StaffRole::Clerk,
                password: "foreign-password-1".into(),
            },
        )
        .await
        .unwrap();
        tx.commit().await.unwrap();
    }
    let mut foreign = srv.client();
    let (_, l) = foreign
        .post(
            "/api/auth/login",
            json!({"username": "foreign", "password": "foreign-password-1"}),
        )
        .await;
    foreign.token = Some(l["token"].as_str().unwrap().to_string());

    let mut clients: Vec<(&str, Client)> = Vec::new();
    for who in ["admin", "arbitrator", "clerk", "mediator"] {
        clients.push((who, srv.staff(&demo, who).await));
    }
    clients.push(("party", srv.verified_party(&demo, "applicant").await));
    clients.push(("other_party", other_party));
    clients.push(("foreign_clerk", foreign));
    clients.push(("anonymous", srv.client()));
    assert_eq!(clients.len(), WHO.len());

    let mut failures = Vec::new();
    let mut n = 0;
    for ep in ENDPOINTS {
        for (who, c) in &clients {
            let expected_allow = ep.allowed.contains(who);
            let (status, body) = call(&clerk, c, ep.name, &id_of).await;
            n += 1;
            let allowed = status.is_success();
            let denied = matches!(
                status,
                StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN | StatusCode::NOT_FOUND
            );
            if expected_allow != allowed || (!expected_allow && !denied) {
                failures.push(format!(
                    "{:<40} {:<13} expected {}, got {} {}",
                    ep.name,
                    who,
                    if expected_allow { "allow" } else { "deny" },
                    status,
                    body.to_string().chars().take(200).collect::<String>()
                ));
            }
            if !allowed {
                assert!(
                    body["error"]["code"].is_string(),
                    "{} {}: error body is not JSON: {body}",
                    ep.name,
                    who
                );
            }
        }
    }
    assert!(
        failures.is_empty(),
        "authorization matrix ({n} checks):\n{}",
        failures.join("\n")
    );
    assert_eq!(n, ENDPOINTS.len() * WHO.len());

    // Scoping of lists: each sees only what is theirs.
    let numbers = |v: &Value| {
        v["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| i["id"].as_i64().unwrap())
            .collect::<Vec<_>>()
    };
    let by = |name: &str| &clients.iter().find(|(w, _)| *w == name).unwrap().1;
    assert_eq!(numbers(&by("party").get("/api/cases").await.1), vec![1]);
    assert_eq!(
        numbers(&by("other_party").get("/api/cases").await.1),
        vec![other_id]
    );
    let foreign_cases = numbers(&by("foreign_clerk").get("/api/cases").await.1);
    assert!(!foreign_cases.contains(&1) && !foreign_cases.contains(&other_id));
    let mediator_cases = numbers(&by("mediator").get("/api/cases").await.1);
    assert!(mediator_cases.contains(&1) && !mediator_cases.contains(&other_id));
    // The other commission's clerk is told the case does not exist, not that it is forbidden.
    assert_eq!(
        by("foreign_clerk").get("/api/cases/1").await.0,
        StatusCode::NOT_FOUND
    );
}

async fn call(
    clerk: &Client,
    c: &Client,
    name: &str,
    id_of: &dyn Fn(&str) -> i64,
) -> (StatusCode, Value) {
    let tomorrow = yunting::time::now_ms() + yunting::time::DAY_MS;
    match name {
        "GET /api/me" | "GET /api/users" | "GET /api/staff" | "GET /api/cases" | "GET /api/cases/1" | "GET /api/cases/1/invitations" | "GET /api/cases/1/audit" | "GET /api/hearings/1" | "GET /api/party/hearing"
        | "GET /api/hearings/1/stats" | "GET /api/netcheck/ping" | "GET /api/hearings/1/discipline" | "GET /api/hearings/1/events" | "GET /api/hearings/1/exhibits" | "GET /api/commission/settings" | "GET /api/hearings/1/recording" => {
            c.get(name.trim_start_matches("GET ")).await
        }
        "POST /api/users" => {
            let u = format!("u{}", yunting::crypto::hex(&yunting::crypto::random_bytes::<4>()));
            c.post("/api/users", json!({"username": u, "display_name": "新同事", "role": "clerk", "password": "a-long-password"})).await
        }
        "POST /api/cases" => c.post("/api/cases", json!({"cause": "劳动报酬", "procedure": "ordinary"})).await,
        "POST /api/cases/1/parties" => c.post("/api/cases/1/parties", json!({"side": "applicant", "kind": "person", "name": "郑七", "phone": "13500000007", "id_number": id_number("44010619930303123")})).await,
        "POST /api/cases/1/parties/1/agents" => {
            c.post("/api/cases/1/parties/1/agents", json!({"name": "冯律师", "phone": "13500000008", "id_number": id_number("44010619800404123"), "authority": "special", "authority_detail": "代为调解"})).await
        }
        "POST /api/cases/1/claims" => c.post("/api/cases/1/claims", json!({"description": "未休年假工资", "amount_cents": 300_000})).await,
        "POST /api/cases/1/counterclaims" => c.post("/api/cases/1/counterclaims", json!({"merged_hearing": false})).await,
        "POST /api/cases/1/procedure" => {
            let current = clerk.get("/api/cases/1").await.1["procedure"].as_str().unwrap().to_string();
            let other = if current == "ordinary" { "simplified" } else { "ordinary" };
            c.post("/api/cases/1/procedure", json!({"procedure": other, "reason": "测试"})).await
        }
        "POST /api/cases/1/transition" => {
            let r = c.post("/api/cases/1/transition", json!({"to": "in_hearing"})).await;
            if r.0.is_success() {
                let back = clerk.post("/api/cases/1/transition", json!({"to": "awaiting_hearing", "reason": "休庭"})).await;
                assert!(back.0.is_success(), "{}", back.1);
            }
            r
        }
        "POST /api/cases/1/hearings" => c.post("/api/cases/1/hearings", json!({"scheduled_at": tomorrow, "presiding_arbitrator_id": id_of("arbitrator"), "clerk_id": id_of("clerk")})).await,
        "POST /api/cases/1/invitations" => c.post("/api/cases/1/invitations", json!({"role": "witness", "name": "证人甲", "phone": "13500000009", "id_number": id_number("44010619940505123")})).await,
        "POST /api/invitations/{new}/revoke" => {
            let (s, inv) = clerk.post("/api/cases/1/invitations", json!({"role": "observer", "name": "旁听乙", "phone": "13500000010", "id_number": id_number("44010619950606123")})).await;
            assert_eq!(s, StatusCode::CREATED, "{inv}");
            c.post(&format!("/api/invitations/{}/revoke", inv["invitation"]["id"]), json!({})).await
        }
        "POST /api/hearings/1/device-check" => {
            c.post("/api/hearings/1/device-check", json!({"camera": true, "microphone": true, "rtt_ms": 80, "down_kbps": 3000, "up_kbps": 1000})).await
        }
        "POST /api/hearings/1/discipline" => c.post("/api/hearings/1/discipline", json!({})).await,
        "POST /api/hearings/1/control" => c.post("/api/hearings/1/control", json!({"do": "lock", "locked": false})).await,
        other => panic!("no request for {other}"),
    }
}
