//! Issue 7: the case search (who sees what, every filter, bad parameters) and the statistics
//! page (figures over a generated set of cases against hand-computed values, CSV export),
//! on SQLite and on PostgreSQL.

use crate::common::{
    Backend, Client, TestServer, add_user, assert_error, id_number, other_commission_clerk,
};
use reqwest::StatusCode;
use serde_json::{Value, json};
use yunting::domain::roles::StaffRole;
use yunting::time::{DAY_MS, HOUR_MS, MINUTE_MS};

macro_rules! on_both_backends {
    ($($name:ident),+ $(,)?) => {$(
        mod $name {
            #[tokio::test]
            async fn sqlite() { super::$name(super::Backend::Sqlite).await }
            #[tokio::test]
            async fn postgres() { super::$name(super::Backend::Postgres).await }
        }
    )+};
}

on_both_backends!(search_permissions, search_filters, statistics_figures);

fn staff_id(demo: &Value, username: &str) -> i64 {
    demo["staff"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["username"] == username)
        .unwrap()["id"]
        .as_i64()
        .unwrap()
}

/// A staff account made through the store, signed in; returns its id and client.
/// China-time instant: `date` (YYYY-MM-DD) at hh:mm.
fn cn(date: &str, hh: i64, mm: i64) -> i64 {
    yunting::domain::statistics::day_start_ms(date, 8).unwrap() + hh * HOUR_MS + mm * MINUTE_MS
}

async fn exec(srv: &TestServer, sql: &str, args: &[i64]) {
    let mut q = sqlx::query(sqlx::AssertSqlSafe(sql.to_string()));
    for a in args {
        q = q.bind(*a);
    }
    q.execute(&srv.app.db.pool).await.unwrap();
}

/// Case ids of a list answer, sorted.
fn ids(body: &Value) -> Vec<i64> {
    let mut v: Vec<i64> = body["items"]
        .as_array()
        .unwrap_or_else(|| panic!("no items: {body}"))
        .iter()
        .map(|i| i["id"].as_i64().unwrap())
        .collect();
    v.sort();
    v
}

async fn list_ids(c: &Client, query: &str) -> Vec<i64> {
    let (s, body) = c.get(&format!("/api/cases?per_page=100&{query}")).await;
    assert_eq!(s, StatusCode::OK, "{query}: {body}");
    assert_eq!(
        body["total"].as_i64().unwrap(),
        body["items"].as_array().unwrap().len() as i64,
        "{query}"
    );
    ids(&body)
}

fn sorted(mut v: Vec<i64>) -> Vec<i64> {
    v.sort();
    v
}

struct World {
    demo: Value,
    clerk: Client,
    admin: Client,
    arbitrator: Client,
    mediator: Client,
    arb2: Client,
    arb2_id: i64,
    med2: Client,
    other_clerk: Client,
    /// Demo case and its merged counterclaim.
    a: i64,
    a2: i64,
    /// Arbitrator 2's case with a hearing mediated by mediator 2; party 张三.
    b: i64,
    b_number: String,
    /// No arbitrator, no hearing; accepted 2025-03-10 10:00 China time, closed by withdrawal.
    c: i64,
    /// Another commission's case, also with a party named 张三.
    d: i64,
}

async fn world(srv: &TestServer) -> World {
    let demo = srv.demo().await;
    let commission = demo["commission"]["id"].as_i64().unwrap();
    let clerk = srv.staff(&demo, "clerk").await;
    let admin = srv.staff(&demo, "admin").await;
    let arbitrator = srv.staff(&demo, "arbitrator").await;
    let mediator = srv.staff(&demo, "mediator").await;
    let (arb2_id, arb2) = add_user(srv, commission, "arb2", "郑仲裁", StaffRole::Arbitrator).await;
    let (med2_id, med2) = add_user(srv, commission, "med2", "钱调解", StaffRole::Mediator).await;
    let a = demo["case"]["id"].as_i64().unwrap();
    let a2 = demo["counterclaim"]["id"].as_i64().unwrap();

    let (s, b) = clerk
        .post(
            "/api/cases",
            json!({"cause": "加班费", "procedure": "ordinary", "arbitrator_id": arb2_id}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{b}");
    let b_id = b["id"].as_i64().unwrap();
    let b_number = b["number"].as_str().unwrap().to_string();
    let (s, r) = clerk.post(&format!("/api/cases/{b_id}/parties"), json!({"side": "applicant", "kind": "person", "name": "张三", "phone": "+86 136 0000 1234", "id_number": id_number("11010519880101123")})).await;
    assert_eq!(s, StatusCode::CREATED, "{r}");
    let (s, r) = clerk
        .post(&format!("/api/cases/{b_id}/parties"), json!({"side": "respondent", "kind": "organisation", "name": "某某物流有限公司_100%", "legal_rep": "钱董", "phone": "13600000010", "id_number": yunting::domain::identity::social_credit_code_with_check("91440101MA5CYYYY1")}))
        .await;
    assert_eq!(s, StatusCode::CREATED, "{r}");
    let (s, r) = clerk
        .post(
            &format!("/api/cases/{b_id}/hearings"),
            json!({"scheduled_at": yunting::time::now_ms() + 2 * DAY_MS, "presiding_arbitrator_id": arb2_id, "clerk_id": staff_id(&demo, "clerk"), "mediator_id": med2_id}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{r}");

    let (s, c) = clerk
        .post(
            "/api/cases",
            json!({"cause": "确认劳动关系", "procedure": "simplified"}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{c}");
    let c_id = c["id"].as_i64().unwrap();
    let (s, r) = clerk.post(&format!("/api/cases/{c_id}/parties"), json!({"side": "applicant", "kind": "person", "name": "王五", "phone": "13700005678", "id_number": id_number("11010519900101123")})).await;
    assert_eq!(s, StatusCode::CREATED, "{r}");
    exec(
        srv,
        "UPDATE cases SET accepted_at = $1, status = 'closed', closing_method = 'withdrawal', closed_at = $2 WHERE id = $3",
        &[cn("2025-03-10", 10, 0), cn("2025-03-20", 10, 0), c_id],
    )
    .await;

    // Another commission with its own clerk and a case whose party is also 张三.
    let other_clerk = other_commission_clerk(srv).await;
    let (s, d) = other_clerk
        .post(
            "/api/cases",
            json!({"cause": "加班费", "procedure": "ordinary"}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{d}");
    let d_id = d["id"].as_i64().unwrap();
    let (s, r) = other_clerk.post(&format!("/api/cases/{d_id}/parties"), json!({"side": "applicant", "kind": "person", "name": "张三", "phone": "13600001234", "id_number": id_number("44030519880101123")})).await;
    assert_eq!(s, StatusCode::CREATED, "{r}");

    World {
        demo,
        clerk,
        admin,
        arbitrator,
        mediator,
        arb2,
        arb2_id,
        med2,
        other_clerk,
        a,
        a2,
        b: b_id,
        b_number,
        c: c_id,
        d: d_id,
    }
}

async fn search_permissions(backend: Backend) {
    let Some(srv) = TestServer::start(backend).await else {
        return;
    };
    let w = world(&srv).await;
    let all = sorted(vec![w.a, w.a2, w.b, w.c]);
    assert_eq!(list_ids(&w.clerk, "").await, all);
    assert_eq!(list_ids(&w.admin, "").await, all);
    // Arbitrators: their own cases (assigned, or presiding; the merged counterclaim goes
    // with its claim); a filter never widens the scope.
    assert_eq!(list_ids(&w.arbitrator, "").await, sorted(vec![w.a, w.a2]));
    assert_eq!(
        list_ids(&w.arbitrator, "party=张三").await,
        Vec::<i64>::new()
    );
    assert_eq!(
        list_ids(&w.arbitrator, &format!("arbitrator_id={}", w.arb2_id)).await,
        Vec::<i64>::new()
    );
    assert_eq!(list_ids(&w.arb2, "").await, vec![w.b]);
    assert_eq!(list_ids(&w.arb2, "party=张三").await, vec![w.b]);
    // Mediators: the cases whose hearings they mediate.
    assert_eq!(list_ids(&w.mediator, "").await, sorted(vec![w.a, w.a2]));
    assert_eq!(list_ids(&w.med2, "").await, vec![w.b]);
    assert_eq!(list_ids(&w.med2, "q=王五").await, Vec::<i64>::new());
    // A party: their own case only, whatever they search for.
    let party = srv.verified_party(&w.demo, "applicant").await;
    assert_eq!(list_ids(&party, "").await, vec![w.a]);
    assert_eq!(list_ids(&party, "party=张三").await, Vec::<i64>::new());
    assert_eq!(
        list_ids(&party, &format!("number={}", w.b_number)).await,
        Vec::<i64>::new()
    );
    // Another commission: its own 张三 only; ours do not see theirs.
    assert_eq!(list_ids(&w.other_clerk, "").await, vec![w.d]);
    assert_eq!(list_ids(&w.other_clerk, "party=张三").await, vec![w.d]);
    assert_eq!(list_ids(&w.clerk, "party=张三").await, vec![w.b]);
    assert_eq!(list_ids(&w.clerk, "phone=13600001234").await, vec![w.b]);
    // Anonymous: 401.
    assert_error(
        &srv.client().get("/api/cases").await,
        StatusCode::UNAUTHORIZED,
        "unauthenticated",
    );
    // Searching is recorded, with the phone masked.
    let (detail,): (String,) = sqlx::query_as(
        "SELECT detail FROM audit_log WHERE action = 'case.list' AND detail LIKE '%phone%136%' ORDER BY seq DESC LIMIT 1",
    )
    .fetch_one(&srv.app.db.pool)
    .await
    .unwrap();
    assert!(detail.contains("136****1234"), "{detail}");
}

async fn search_filters(backend: Backend) {
    let Some(srv) = TestServer::start(backend).await else {
        return;
    };
    let w = world(&srv).await;
    let c = &w.clerk;
    let none = Vec::<i64>::new();
    // Everything, to check the enumerated filters against.
    let (_, everything) = c.get("/api/cases?per_page=100").await;
    let items = everything["items"].as_array().unwrap().clone();
    let having = |field: &str, value: &str| -> Vec<i64> {
        sorted(
            items
                .iter()
                .filter(|i| i[field] == value)
                .map(|i| i["id"].as_i64().unwrap())
                .collect(),
        )
    };
    // Newest first: C was accepted in 2025, so it comes last.
    assert_eq!(items.last().unwrap()["id"], w.c);

    // Case number: whole or part.
    assert_eq!(
        list_ids(c, &format!("number={}", urlencode(&w.b_number))).await,
        vec![w.b]
    );
    assert_eq!(list_ids(c, "number=%E3%80%94").await.len(), 4); // 〔
    assert_eq!(list_ids(c, "number=nothing-like-it").await, none);
    // Party name, part of it; LIKE wildcards are taken literally.
    assert_eq!(list_ids(c, "party=张").await, vec![w.b]);
    assert_eq!(list_ids(c, "party=物流").await, vec![w.b]);
    assert_eq!(list_ids(c, "party=_100%25").await, vec![w.b]);
    assert_eq!(list_ids(c, "party=%25").await, vec![w.b]);
    // The counterclaim has the same parties, sides swapped.
    assert_eq!(list_ids(c, "party=李小红").await, sorted(vec![w.a, w.a2]));
    assert_eq!(list_ids(c, "party=赵六").await, none);
    // Phone: whole (any spelling), or four or more of its digits.
    assert_eq!(list_ids(c, "phone=13600001234").await, vec![w.b]);
    assert_eq!(list_ids(c, "phone=%2B86%20136-0000-1234").await, vec![w.b]);
    assert_eq!(list_ids(c, "phone=1234").await, vec![w.b]);
    assert_eq!(list_ids(c, "phone=5678").await, vec![w.c]);
    assert_eq!(list_ids(c, "phone=13600009999").await, none);
    // Arbitrator.
    assert_eq!(
        list_ids(c, &format!("arbitrator_id={}", w.arb2_id)).await,
        vec![w.b]
    );
    assert_eq!(
        list_ids(
            c,
            &format!("arbitrator_id={}", staff_id(&w.demo, "arbitrator"))
        )
        .await,
        sorted(vec![w.a, w.a2])
    );
    // Acceptance dates, in China time, both ends included.
    assert_eq!(
        list_ids(c, "accepted_from=2025-03-10&accepted_to=2025-03-10").await,
        vec![w.c]
    );
    assert_eq!(list_ids(c, "accepted_to=2025-03-09").await, none);
    assert_eq!(
        list_ids(c, "accepted_from=2025-03-11&accepted_to=2025-12-31").await,
        none
    );
    assert_eq!(
        list_ids(c, "accepted_from=2025-03-11").await,
        sorted(vec![w.a, w.a2, w.b])
    );
    // Status, procedure, closing method.
    for status in ["accepted", "awaiting_hearing", "closed"] {
        assert_eq!(
            list_ids(c, &format!("status={status}")).await,
            having("status", status),
            "{status}"
        );
    }
    assert_eq!(list_ids(c, "status=closed").await, vec![w.c]);
    for procedure in ["ordinary", "simplified"] {
        assert_eq!(
            list_ids(c, &format!("procedure={procedure}")).await,
            having("procedure", procedure)
        );
    }
    assert!(having("procedure", "ordinary").contains(&w.b));
    assert_eq!(list_ids(c, "closing_method=withdrawal").await, vec![w.c]);
    assert_eq!(list_ids(c, "closing_method=award").await, none);
    // Combined: every filter must hold.
    assert_eq!(
        list_ids(c, "party=张三&procedure=ordinary").await,
        vec![w.b]
    );
    assert_eq!(list_ids(c, "party=张三&status=closed").await, none);
    assert_eq!(
        list_ids(c, "q=王五&closing_method=withdrawal").await,
        vec![w.c]
    );
    // Blank parameters are no filter.
    assert_eq!(
        list_ids(c, "party=&status=&phone=%20&accepted_from=")
            .await
            .len(),
        4
    );

    // Pages: newest first, stable, total independent of the page.
    let (s, p1) = c.get("/api/cases?per_page=3&page=1").await;
    assert_eq!(s, StatusCode::OK, "{p1}");
    let (_, p2) = c.get("/api/cases?per_page=3&page=2").await;
    assert_eq!(p1["total"], 4);
    assert_eq!(p2["total"], 4);
    assert_eq!(p1["items"].as_array().unwrap().len(), 3);
    assert_eq!(p2["items"].as_array().unwrap().len(), 1);
    assert_eq!(p2["items"][0]["id"], w.c);
    let (_, far) = c.get("/api/cases?per_page=3&page=999").await;
    assert_eq!(far["total"], 4);
    assert_eq!(far["items"].as_array().unwrap().len(), 0);
    // The summary still carries parties and the next hearing.
    let b_item = items.iter().find(|i| i["id"] == w.b).unwrap();
    assert_eq!(b_item["applicant"], json!(["张三"]));
    assert!(b_item["next_hearing_at"].as_i64().is_some());
    let a2_item = items.iter().find(|i| i["id"] == w.a2).unwrap();
    assert!(
        a2_item["next_hearing_at"].as_i64().is_some(),
        "merged counterclaim shows its claim's hearing: {a2_item}"
    );

    // Bad parameters: 422 invalid_field; an unknown one: 400.
    let long = "长".repeat(101);
    for bad in [
        "page=0".to_string(),
        "page=abc".into(),
        "page=-1".into(),
        "per_page=0".into(),
        "per_page=101".into(),
        "per_page=1e3".into(),
        "status=open".into(),
        "procedure=fast".into(),
        "closing_method=settled".into(),
        "arbitrator_id=abc".into(),
        "arbitrator_id=0".into(),
        "arbitrator_id=99999999999999999999".into(),
        "accepted_from=2025-13-01".into(),
        "accepted_from=2025-3-1".into(),
        "accepted_from=2025-02-30".into(),
        "accepted_to=20250301".into(),
        "accepted_from=2025-03-10&accepted_to=2025-03-09".into(),
        "phone=123".into(),
        "phone=1360000123456".into(),
        "phone=136abc".into(),
        format!("q={long}"),
        format!("party={long}"),
        "number=%01".into(),
        "party=a%0Ab".into(),
    ] {
        let resp = c.get(&format!("/api/cases?{bad}")).await;
        assert_error(&resp, StatusCode::UNPROCESSABLE_ENTITY, "invalid_field");
    }
    assert_error(
        &c.get("/api/cases?sort=name").await,
        StatusCode::BAD_REQUEST,
        "bad_query",
    );
    let _ = (
        &w.admin,
        &w.arbitrator,
        &w.mediator,
        &w.arb2,
        &w.med2,
        &w.other_clerk,
        w.d,
    );
}

fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

/// Insert a case straight into the database; returns its id.
#[allow(clippy::too_many_arguments)]
async fn insert_case(
    srv: &TestServer,
    commission: i64,
    clerk: i64,
    n: i64,
    accepted_at: i64,
    closed: Option<(i64, &str)>,
    arbitrator: Option<i64>,
    counterclaim_of: Option<i64>,
) -> i64 {
    let (id,): (i64,) = sqlx::query_as(
        "INSERT INTO cases (commission_id, number, year, cause, procedure_kind, status, closing_method, arbitrator_id, counterclaim_of, merged_hearing, accepted_at, closed_at, created_by) \
         VALUES ($1, $2, 2024, '劳动报酬', 'ordinary', $3, $4, $5, $6, $7, $8, $9, $10) RETURNING id",
    )
    .bind(commission)
    .bind(format!("统计〔2024〕{n}号"))
    .bind(if closed.is_some() { "closed" } else { "awaiting_hearing" })
    .bind(closed.map(|c| c.1.to_string()))
    .bind(arbitrator)
    .bind(counterclaim_of)
    .bind(i64::from(counterclaim_of.is_some()))
    .bind(accepted_at)
    .bind(closed.map(|c| c.0))
    .bind(clerk)
    .fetch_one(&srv.app.db.pool)
    .await
    .unwrap();
    id
}

async fn insert_hearing(
    srv: &TestServer,
    case: i64,
    presiding: i64,
    clerk: i64,
    status: &str,
) -> i64 {
    let (id,): (i64,) = sqlx::query_as(
        "INSERT INTO hearings (case_id, scheduled_at, presiding_arbitrator_id, clerk_id, status, created_at) VALUES ($1, $2, $3, $4, $5, $2) RETURNING id",
    )
    .bind(case)
    .bind(cn("2024-01-05", 9, 0))
    .bind(presiding)
    .bind(clerk)
    .bind(status.to_string())
    .fetch_one(&srv.app.db.pool)
    .await
    .unwrap();
    id
}

async fn insert_agreement(srv: &TestServer, case: i64, status: &str) {
    sqlx::query("INSERT INTO documents (case_id, kind, status, current_version, created_by, created_at) VALUES ($1, 'mediation_agreement', $2, 1, 'test', 0)")
        .bind(case)
        .bind(status.to_string())
        .execute(&srv.app.db.pool)
        .await
        .unwrap();
}

fn close_to(v: &Value, expected: f64) -> bool {
    v.as_f64().is_some_and(|x| (x - expected).abs() < 1e-6)
}

async fn statistics_figures(backend: Backend) {
    let Some(srv) = TestServer::start(backend).await else {
        return;
    };
    let demo = srv.demo().await;
    let commission = demo["commission"]["id"].as_i64().unwrap();
    let clerk_id = staff_id(&demo, "clerk");
    let lin = staff_id(&demo, "arbitrator");
    let clerk = srv.staff(&demo, "clerk").await;
    let (s1, _) = add_user(&srv, commission, "stat1", "统计甲", StaffRole::Arbitrator).await;
    let (s2, s2_client) =
        add_user(&srv, commission, "stat2", "统计乙", StaffRole::Arbitrator).await;

    // The generated set (China time); period 2024-01 … 2024-03.
    // 1: received 2023-11-25, mediated 2024-01-15 after 51 days (late), hearing held.
    let c1 = insert_case(
        &srv,
        commission,
        clerk_id,
        1,
        cn("2023-11-25", 10, 0),
        Some((cn("2024-01-15", 10, 0), "mediation")),
        Some(s1),
        None,
    )
    .await;
    insert_hearing(&srv, c1, s1, clerk_id, "closed").await;
    // 2: received 2024-01-01 00:30 (still 2023 in UTC), withdrawn after settlement in 20 days.
    let c2 = insert_case(
        &srv,
        commission,
        clerk_id,
        2,
        cn("2024-01-01", 0, 30),
        Some((cn("2024-01-21", 0, 30), "withdrawal")),
        Some(s1),
        None,
    )
    .await;
    insert_agreement(&srv, c2, "effective").await;
    // 3: received 2024-01-10, award 2024-03-05 (55 days), but its merged counterclaim (3b,
    // received 2024-02-01) restarted the limit: within. Its hearing was cancelled after
    // the chair moved it on (a phase event): held.
    let c3 = insert_case(
        &srv,
        commission,
        clerk_id,
        3,
        cn("2024-01-10", 9, 0),
        Some((cn("2024-03-05", 9, 0), "award")),
        Some(s2),
        None,
    )
    .await;
    let h3 = insert_hearing(&srv, c3, s2, clerk_id, "cancelled").await;
    sqlx::query("INSERT INTO hearing_events (hearing_id, at, kind, actor, detail) VALUES ($1, 0, 'hearing.phase', 'test', '{}')")
        .bind(h3)
        .execute(&srv.app.db.pool)
        .await
        .unwrap();
    // 3b: 33 days, held through the claim's hearing.
    insert_case(
        &srv,
        commission,
        clerk_id,
        4,
        cn("2024-02-01", 9, 0),
        Some((cn("2024-03-05", 9, 0), "award")),
        Some(s2),
        Some(c3),
    )
    .await;
    // 4: withdrawn after 10 days, no settlement (a void agreement does not count), no
    // arbitrator, a cancelled hearing that never ran.
    let c4 = insert_case(
        &srv,
        commission,
        clerk_id,
        5,
        cn("2024-02-10", 9, 0),
        Some((cn("2024-02-20", 9, 0), "withdrawal")),
        None,
        None,
    )
    .await;
    insert_agreement(&srv, c4, "void").await;
    insert_hearing(&srv, c4, s1, clerk_id, "cancelled").await;
    // 5: received 2024-02-29 23:30, closed in April: received only.
    insert_case(
        &srv,
        commission,
        clerk_id,
        6,
        cn("2024-02-29", 23, 30),
        Some((cn("2024-04-02", 9, 0), "award")),
        Some(s1),
        None,
    )
    .await;
    // 6: received 2024-03-31 23:59, open.
    insert_case(
        &srv,
        commission,
        clerk_id,
        7,
        cn("2024-03-31", 23, 59),
        None,
        Some(s2),
        None,
    )
    .await;
    // 7: received 2024-04-01 00:00 (after the period), open: load only.
    insert_case(
        &srv,
        commission,
        clerk_id,
        8,
        cn("2024-04-01", 0, 0),
        None,
        Some(s2),
        None,
    )
    .await;
    // 8: entirely before the period.
    insert_case(
        &srv,
        commission,
        clerk_id,
        9,
        cn("2023-11-01", 9, 0),
        Some((cn("2023-12-31", 23, 59), "award")),
        Some(s1),
        None,
    )
    .await;
    // 9: received 2024-03-01 09:00, deemed withdrawn 2024-03-31 23:00 (30 days 14 hours).
    insert_case(
        &srv,
        commission,
        clerk_id,
        10,
        cn("2024-03-01", 9, 0),
        Some((cn("2024-03-31", 23, 0), "deemed_withdrawal")),
        Some(s1),
        None,
    )
    .await;

    let (s, st) = clerk.get("/api/statistics?from=2024-01&to=2024-03").await;
    assert_eq!(s, StatusCode::OK, "{st}");
    assert_eq!(st["scope"], "commission");
    assert_eq!(st["from"], "2024-01");
    assert_eq!(st["to"], "2024-03");
    assert_eq!(
        st["months"],
        json!([
            {"month": "2024-01", "received": 2, "closed": 2},
            {"month": "2024-02", "received": 3, "closed": 1},
            {"month": "2024-03", "received": 2, "closed": 3},
        ])
    );
    assert_eq!(st["received"], 7);
    assert_eq!(st["closed"], 6);
    assert_eq!(
        st["closing_methods"],
        json!({"mediation": 1, "award": 2, "withdrawal": 2, "deemed_withdrawal": 1, "rejection": 0})
    );
    assert_eq!(st["settled_withdrawals"], 1);
    // (1 mediation + 1 settled withdrawal) / 6 closed.
    assert!(close_to(&st["mediation_rate"], 2.0 / 6.0), "{st}");
    // Held: 1, 3, 3b.
    assert_eq!(st["hearing_held"], 3);
    assert!(close_to(&st["online_hearing_share"], 0.5));
    // Days: 10, 20, 30 7/12, 33, 51, 55 → median (30 7/12 + 33) / 2; p90 at rank 4.5 → 53.
    assert!(
        close_to(
            &st["days_to_close_median"],
            (30.0 + 14.0 / 24.0 + 33.0) / 2.0
        ),
        "{st}"
    );
    assert!(close_to(&st["days_to_close_p90"], 53.0), "{st}");
    // All but case 1.
    assert_eq!(st["within_deadline"], 5);
    assert!(close_to(&st["within_deadline_share"], 5.0 / 6.0));
    assert_eq!(st["deadline_extensions"], true);
    assert_eq!(
        st["arbitrators"],
        json!([
            {"id": s2, "name": "统计乙", "open": 2, "received": 3, "closed": 2},
            {"id": s1, "name": "统计甲", "open": 0, "received": 3, "closed": 3},
            {"id": lin, "name": "林仲裁", "open": 2, "received": 0, "closed": 0},
        ])
    );

    // An admin sees the same; an arbitrator only their own cases.
    let admin = srv.staff(&demo, "admin").await;
    let (s, st_admin) = admin.get("/api/statistics?from=2024-01&to=2024-03").await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(st_admin["months"], st["months"]);
    let (s, own) = s2_client
        .get("/api/statistics?from=2024-01&to=2024-03")
        .await;
    assert_eq!(s, StatusCode::OK, "{own}");
    assert_eq!(own["scope"], "own");
    assert_eq!(own["received"], 3);
    assert_eq!(own["closed"], 2);
    assert_eq!(
        own["arbitrators"],
        json!([{"id": s2, "name": "统计乙", "open": 2, "received": 3, "closed": 2}])
    );
    // Mediators and parties: no statistics.
    let mediator = srv.staff(&demo, "mediator").await;
    assert_error(
        &mediator.get("/api/statistics").await,
        StatusCode::FORBIDDEN,
        "forbidden",
    );
    let party = srv.verified_party(&demo, "applicant").await;
    assert_error(
        &party.get("/api/statistics.csv").await,
        StatusCode::FORBIDDEN,
        "forbidden",
    );
    assert_error(
        &srv.client().get("/api/statistics").await,
        StatusCode::UNAUTHORIZED,
        "unauthenticated",
    );
    // Bad periods.
    for bad in [
        "from=2024-13",
        "from=2024-1",
        "to=24-01",
        "from=2024-03&to=2024-01",
        "from=2010-01&to=2020-12",
    ] {
        assert_error(
            &clerk.get(&format!("/api/statistics?{bad}")).await,
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_field",
        );
    }
    assert_error(
        &clerk.get("/api/statistics?month=2024-01").await,
        StatusCode::BAD_REQUEST,
        "bad_query",
    );
    // An approved extension (15 days) puts case 1 (51 days) within its time limit.
    sqlx::query("INSERT INTO deadline_extensions (case_id, days, reason, approved_by, recorded_by, recorded_at) VALUES ($1, 15, '案情复杂', '主任', $2, 0)")
        .bind(c1)
        .bind(clerk_id)
        .execute(&srv.app.db.pool)
        .await
        .unwrap();
    let (_, extended) = clerk.get("/api/statistics?from=2024-01&to=2024-03").await;
    assert_eq!(extended["within_deadline"], 6, "{extended}");
    // The default period: the twelve months up to this one.
    let (s, default) = clerk.get("/api/statistics").await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(default["months"].as_array().unwrap().len(), 12);

    // CSV for Excel: BOM, CRLF, the same figures.
    let resp = clerk
        .http
        .get(format!(
            "{}/api/statistics.csv?from=2024-01&to=2024-03",
            srv.base
        ))
        .bearer_auth(clerk.token.as_deref().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(resp.headers()["content-type"], "text/csv; charset=utf-8");
    assert!(
        resp.headers()["content-disposition"]
            .to_str()
            .unwrap()
            .contains("statistics-2024-01-2024-03.csv")
    );
    let bytes = resp.bytes().await.unwrap();
    assert_eq!(&bytes[..3], b"\xEF\xBB\xBF");
    let text = String::from_utf8(bytes[3..].to_vec()).unwrap();
    let blocks: Vec<&str> = text.split("\r\n\r\n").collect();
    assert_eq!(blocks.len(), 4, "{text}");
    assert!(blocks[0].contains("\r\n收案数 / received,7\r\n"), "{text}");
    assert!(
        blocks[0].contains("\r\n调解率 / mediation rate,0.3333\r\n"),
        "{text}"
    );
    assert!(blocks[0].contains("\r\n结案天数第90百分位 / 90th percentile days to close,53.0\r\n"));
    assert_eq!(
        blocks[1],
        "月份 / month,收案 / received,结案 / closed\r\n2024-01,2,2\r\n2024-02,3,1\r\n2024-03,2,3"
    );
    assert!(
        blocks[2].contains("\r\n调解 / mediation,1,0.1667\r\n"),
        "{text}"
    );
    assert_eq!(
        blocks[3],
        "仲裁员 / arbitrator,在办 / open,收案 / received,结案 / closed\r\n统计乙,2,3,2\r\n统计甲,0,3,3\r\n林仲裁,2,0,0\r\n"
    );
    for line in text.split("\r\n").filter(|l| !l.is_empty()) {
        assert!(!line.contains('\n'), "{line:?}");
    }

    // Every look at the statistics is in the audit log.
    let (n,): (i64,) =
        sqlx::query_as("SELECT COUNT(*) FROM audit_log WHERE action = 'statistics.read'")
            .fetch_one(&srv.app.db.pool)
            .await
            .unwrap();
    assert_eq!(n, 6, "clerk ×3, admin, arbitrator, CSV");
}
