//! The app's words, one table per language. zh-CN is the default (the operator's
//! own wording, whose terms docs/domain.md gives); English is selectable.

/// The display language.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    Zh,
    En,
}

macro_rules! messages {
    ($($key:ident => $zh:literal, $en:literal;)+) => {
        /// A message of the UI.
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        pub enum M { $($key,)+ }

        /// The text of `m` in `lang`.
        pub fn t(lang: Lang, m: M) -> &'static str {
            match (lang, m) {
                $((Lang::Zh, M::$key) => $zh, (Lang::En, M::$key) => $en,)+
            }
        }
    };
}

messages! {
    AppName => "大客户经理工作台", "Key-account workbench";
    Username => "用户名", "Username";
    StaffNo => "工号", "Staff no.";
    Row => "行", "Row";
    Column => "列", "Column";
    Problem => "问题", "Problem";
    SetStaffNo => "保存工号", "Save staff no.";
    Password => "密码", "Password";
    LogIn => "登录", "Log in";
    LogOut => "退出登录", "Log out";
    LoginNeedsNetwork => "首次登录需要联网", "The first login needs a network connection";
    MyCustomers => "我的客户", "My customers";
    Search => "按名称、信用代码或客户编号搜索", "Search by name, credit code or customer number";
    AllLevels => "全部级别", "All levels";
    AllGrades => "全部等级", "All grades";
    AllLines => "全部业务", "All lines";
    OnlyOverdue => "只看逾期", "Overdue only";
    Overdue => "逾期未访", "Overdue";
    HeadVisitsDue => "本季度尚未亲自走访", "Not yet visited by you this quarter";
    DueThisMonth => "本月待访", "Due this month";
    VisitedThisMonth => "本月已访", "Visited";
    OpenFollowUps => "待办", "open follow-ups";
    NoCustomers => "没有符合条件的客户", "No matching customers";
    Online => "在线", "Online";
    Offline => "离线", "Offline";
    Unsynced => "条修改未同步", "changes not yet on the server";
    AllSynced => "已同步", "synced";
    Undelivered => "项未送达", "not delivered";
    KeptOnDevice => "已保存到本机", "kept on this device";
    ReadyOffline => "可离线使用", "ready offline";
    StorageKept => "存储已获保护", "storage protected";
    StorageNotKept => "浏览器未承诺保留本机数据，空间不足时可能被清除", "the browser may clear this data when space runs low";
    WriteFailed => "保存到本机失败", "could not save on this device";
    UndeliveredTitle => "未送达", "Not delivered";
    Delivering => "联网后将送达服务器", "will be delivered when online";
    Refused => "服务器未接受", "refused by the server";
    ExportUndelivered => "导出", "Export";
    LostCustomers => "已移出的客户", "Customers no longer yours";
    LastSync => "上次同步", "last sync";
    Never => "从未", "never";
    FirstSync => "首次同步中", "First sync";
    Connecting => "连接中", "Connecting";
    CheckIn => "签到", "Check-in";
    CheckInNow => "签到（记录时间和位置）", "Check in (time and place)";
    SyncPanel => "同步详情", "Sync details";
    LastCompleteSync => "上次完成同步", "Last complete sync";
    NothingPending => "没有待同步的修改", "Nothing waiting to sync";
    SyncNow => "立即同步", "Sync now";
    SyncStarted => "已开始同步", "Syncing";
    SyncWhenOnline => "离线：网络恢复后会自动同步", "Offline: it syncs by itself when the network is back";
    Navigate => "地图导航", "Map";
    Showing => "显示", "showing";
    ReadingRest => "正在读取本机的其余客户", "Reading the other customers kept here";
    SortByName => "按名称", "By name";
    SortByOverdue => "逾期优先", "Overdue first";
    SortByRevenue => "按收入", "By revenue";
    SortByLastVisit => "最久未访优先", "Longest unvisited first";
    LastVisit => "上次走访", "Last visit";
    ResetPassword => "重置密码", "Reset password";
    MoveUser => "调动", "Move";
    Confirm => "确认", "Confirm";
    Unlock => "解锁", "Unlock";
    Unlocking => "正在解锁…", "Unlocking…";
    UnlockHint => "本机数据已加密，请输入登录密码解锁（离线也可以）。", "This device's data is encrypted: enter your password to unlock it (works offline).";
    ShowDevices => "设备", "Devices";
    Wipe => "远程清除", "Wipe remotely";
    WipeQuestion => "远程清除这台设备？它将立即退出登录，下次联网时删除本机的全部客户数据（尚未同步的修改也会丢失）。", "Wipe this device? It is signed out at once and deletes every customer it holds when it next goes online (changes not yet synced are lost too).";
    WipedAt => "已远程清除", "Wiped";
    WipeConfirmed => "设备已删除数据", "the device deleted its data";
    WipeUnconfirmed => "等待设备联网", "waiting for the device to go online";
    SignedInSince => "登录于", "Signed in";
    NoDevices => "没有已登录的设备", "No signed-in devices";
    SignsOutEverywhere => "其所有设备将立即退出登录。", "All their devices are signed out at once.";
    WhenReceived => "（服务器收到）", " (when received)";
    SystemRecord => "系统记录（导入或早期数据）", "system record (import or earlier data)";
    Back => "返回", "Back";
    Profile => "客户档案", "Profile";
    CreditCode => "统一社会信用代码", "Credit code";
    Nature => "客户性质", "Nature";
    Lines => "业务类型", "Business lines";
    Address => "地址", "Address";
    Industry => "行业", "Industry";
    Name => "姓名", "Name";
    CustomerName => "客户名称", "Customer name";
    UnitName => "单位名称", "Unit name";
    Contacts => "联系人", "Contacts";
    Phone => "电话", "Phone";
    Position => "职务", "Position";
    Birthday => "生日", "Birthday";
    Role => "角色", "Role";
    Ledger => "用邮台帐（近24个月）", "Revenue ledger (last 24 months)";
    AnnualRevenue => "近12个月收入", "Revenue, last 12 months";
    Level => "管理级别", "Level";
    Grade => "客户等级", "Grade";
    Proposed => "系统建议", "proposed";
    Visits => "走访记录", "Visits";
    NoVisits => "暂无走访记录", "No visits yet";
    FollowUps => "督办事项", "Follow-ups";
    FollowUpsList => "督办", "Follow-ups";
    StartHandling => "开始处理", "Start";
    Forward => "转办", "Forward";
    ForwardTo => "转交给（专业局、专业公司或同事）", "Forward to (a line's office or a colleague)";
    CloseFollowUp => "办结", "Close";
    FollowUpResult => "处理结果", "Result";
    ToldCustomer => "已告知客户", "Customer told";
    NotTold => "未告知客户", "Customer not told yet";
    ClosedByAt => "办结", "closed";
    ForwardedTo => "已转交", "Forwarded to";
    FilterOpen => "待办", "Open";
    FilterOverdue => "逾期", "Overdue";
    FilterDone => "已办结", "Done";
    FilterAll => "全部", "All";
    ResultsDiffer => "两台设备记录的处理结果不同，请核实：", "Two devices recorded different results; please check:";
    NoFollowUps => "没有督办事项", "No follow-ups";
    RaisedOnVisit => "走访", "Visit";
    ClosedInPeriod => "期内办结", "Closed in the period";
    StepOverdue => "超时", "Past its time limit";
    Due => "应访", "Due";
    VisitedCount => "已访", "Visited";
    Rate => "达标率", "Rate";
    ShowAll => "显示全部", "Show all";
    Agreements => "服务协议", "Agreements";
    NoAgreements => "暂无协议", "No agreements yet";
    LogVisit => "记录走访", "Log a visit";
    Date => "日期", "Date";
    Time => "时间", "Time";
    Kind => "方式", "Kind";
    Visitors => "走访人员", "Who went";
    ContactsMet => "会见联系人", "Contacts met";
    Purpose => "走访目的", "Purpose";
    Summary => "洽谈内容", "What was discussed";
    Needs => "客户需求", "Customer's needs";
    Opinions => "意见建议", "Opinions";
    ComplaintsText => "投诉", "Complaints";
    CompetitorNews => "竞争对手动态", "Competitor news";
    MailingDifficulties => "用邮困难", "Difficulties with the post";
    CustomerNo => "客户编号", "Customer no.";
    Itinerary => "出访计划与工作日志", "Itinerary and work log";
    ItineraryShort => "出访计划", "Itinerary";
    DayPlan => "当日计划", "The day's plan";
    NextSevenDays => "之后七天", "The next seven days";
    NothingPlanned => "这一天没有安排走访", "No visit planned for this day";
    WorkLog => "工作日志", "Work log";
    NothingLogged => "这一天还没有记录", "Nothing logged this day yet";
    Calls => "电话询访", "Calls";
    FollowUpsClosed => "办结的督办事项", "Follow-ups closed";
    CareGiven => "客户关怀", "Care given";
    VisitMade => "已走访", "Visited";
    PlanVisit => "安排走访", "Plan a visit";
    NoNumberYet => "审批后由系统编号", "Given once approved";
    CreditRecord => "信用/付款记录", "Credit and payment record";
    CooperationYears => "合作年限", "Years of cooperation";
    GrowthPotential => "发展潜力", "Growth potential";
    Preferences => "偏好", "Preferences";
    BusinessSituation => "经营状况", "Business situation";
    Competitors => "竞争对手", "Competitors";
    AddCompetitor => "添加竞争对手", "Add a competitor";
    CompetitorName => "竞争对手", "Competitor";
    CompetitorBusiness => "业务", "Business";
    CompetitorPrice => "价格", "Price";
    CompetitorShare => "份额", "Share";
    FollowUpAction => "跟进事项", "Follow-up action";
    FollowUpOwner => "责任人", "Owner";
    FollowUpDue => "完成期限", "Due";
    NextVisit => "下次走访", "Next visit";
    Save => "保存", "Save";
    Cancel => "取消", "Cancel";
    Edit => "编辑", "Edit";
    AddContact => "新增联系人", "Add contact";
    Register => "报备新客户", "Register a customer";
    RegisterHint => "离线也可报备，联网后自动提交", "Works offline; it is sent when back online";
    Conflict => "多台设备同时修改了此项，请选择保留的值：", "Two devices changed this at the same time; choose the value to keep:";
    Keep => "保留", "Keep";
    Required => "必填", "required";
    DuplicateRegistration => "重复报备", "Duplicate registration";
    RegistrationResult => "报备结果", "Registration outcome";
    AlreadyRegistered => "该客户已由其他单位先行报备，以下业务归先报备单位：", "Another unit registered this customer first; these lines stay with it:";
    YouOwn => "本次报备归您单位的业务：", "Lines your unit now holds:";
    None_ => "无", "none";
    CreditWarning => "不良资信预警：", "Bad-credit warning:";
    Reminders => "工作提醒", "Reminders";
    RevenueAlerts => "收入异动", "Revenue alerts";
    Care => "礼仪关怀（14天内）", "Care (next 14 days)";
    LogCare => "记录关怀", "Log care";
    CareLog => "客户关怀", "Customer care";
    NoCare => "还没有关怀记录", "No care logged yet";
    Hobbies => "爱好", "Hobbies";
    Family => "家庭与子女", "Family and children";
    AddEvent => "添加家庭事件", "Add a family event";
    Occasion => "事由", "Occasion";
    CareWhat => "做了什么、送了什么", "What was done or given";
    CostYuan => "费用（元）", "Cost (yuan)";
    CareFor => "对象", "For";
    LoggedBy => "经办", "By";
    Notes => "备注", "Notes";
    Approved => "已审批", "approved";
    OnlineRate => "客户在线率（重点客户）", "Online rate (key customers)";
    VisitCompliance => "走访达标率", "Visit compliance";
    ByLevelAndGrade => "按级别与等级：收入占比", "By level and grade: share of revenue";
    GrowthAndChurn => "收入下降与流失", "Falls and lost customers";
    PlanVsActual => "年度计划完成", "Plan vs actual";
    MyScope => "本人管辖范围", "My scope";
    Reports => "报表", "Reports";
    Customers => "客户", "Customers";
    LedgerShort => "用邮台帐", "Ledger";
    ImportExport => "导入导出", "Import and export";
    ImportCustomers => "导入客户（CSV/Excel）", "Import customers (CSV/Excel)";
    ImportLedger => "导入用邮台帐（CSV/Excel）", "Import the ledger (CSV/Excel)";
    History => "修改记录", "History";
    ShowHistory => "查看修改记录", "Show the history";
    Month => "月份", "Month";
    Manager => "客户经理", "Manager";
    Console => "机构与用户", "Units and users";
    Users => "用户", "Users";
    Units => "机构", "Units";
    Unit => "所属单位", "Unit";
    Devices => "在线设备", "Devices";
    Enable => "启用", "Enable";
    Disable => "停用", "Disable";
    NewPassword => "新密码", "New password";
    AddUser => "新增用户", "Add a user";
    AddUnit => "新增机构", "Add a unit";
    Handovers => "经理与交接记录", "Managers and hand-overs";
    HandOver => "客户交接", "Hand over";
    By => "经办", "by";
    Note => "说明", "Note";
    PrimaryManager => "主客户经理", "Primary manager";
    AssistantManager => "辅助客户经理", "Assistant manager";
    SignedOut => "登录已失效（账号被停用、设备被注销或密码已重置），请重新登录。本机未同步的修改：", "This session was ended (account disabled, device signed out or password reset); sign in again. Changes on this tablet not yet on the server:";
    SignInAgain => "重新登录", "Sign in again";
    ManagedAs => "管理等级", "Managed as";
    Complaints => "客户投诉", "Complaints";
    RecordComplaint => "登记投诉", "Record a complaint";
    TaskForce => "跨部门专项小组", "Task force";
    Satisfaction => "满意度", "Satisfaction";
    Department => "责任部门", "Department";
    AddAgreement => "新增协议", "Add agreement";
    AgreementNumber => "协议编号", "Agreement number";
    Terms => "优惠条款", "Terms";
    Plan => "年度发展计划", "Annual development plan";
    AddPlan => "制定年度计划", "Add a plan";
    TargetYuan => "目标收入（元）", "Target revenue (yuan)";
    Measures => "措施", "Measures";
    ExpiringAgreements => "即将到期的协议（30天内）", "Agreements expiring (30 days)";
    Approve => "审批通过", "Approve";
    DayNotes => "其他工作", "Other work";
    AddNote => "记一笔", "Add a note";
    NotePlaceholder => "电话、会议、整理材料……", "Calls, meetings, paperwork…";
    HandIn => "月末提交", "Month-end hand-in";
    HandInLog => "提交工作日志", "Hand in the work log";
    HandInAgain => "再次提交", "Hand in again";
    HandInNote => "给负责人的话（可不填）", "A word to your head (optional)";
    HandedIn => "已提交", "Handed in";
    NotHandedIn => "尚未提交", "Not handed in";
    AwaitingSync => "待同步", "Waiting to sync";
    TookEffect => "已生效", "Done";
    NotDone => "未生效", "Not done";
    Approvals => "待审批", "Approvals";
    NothingToApprove => "没有待审批的事项", "Nothing waits for your decision";
    Registrations => "报备", "Registrations";
    GradesToFix => "定级", "Levels and grades";
    AgreementsToApprove => "服务协议", "Service agreements";
    BadCredit => "不良资信", "Bad credit";
    ApproveIt => "批准", "Approve";
    SendBack => "退回", "Send back";
    SendBackReason => "退回原因（经理会看到）", "Why (the manager reads it)";
    ConfirmIt => "确认", "Confirm";
    RejectIt => "驳回", "Reject";
    AsProposed => "按建议定级", "Fix as proposed";
    FixAs => "定为", "Fix as";
    CenterOnly => "白金及以上由大客中心审批", "Platinum and above: the center decides";
    RegisteredBy => "报备人", "Registered by";
    Revenue12 => "近12个月收入", "Last 12 months";
    ProposedAs => "建议", "Proposed";
    CurrentlyAs => "现定", "Now";
    SameAs => "同一客户已有报备", "Already registered as";
    LinesTaken => "已被其他单位报备", "Registered first by";
    Reporter => "报告人", "Reported by";
    RegPending => "待审批", "Awaiting approval";
    RegApproved => "报备已批准", "Registration approved";
    RegReturned => "报备已退回", "Registration sent back";
    AndMore => "另有", "and more:";
    MyDecisions => "我的决定", "My decisions";
    ReportBadCredit => "报告不良资信", "Report bad credit";
    SpotCheck => "抽查", "Spot check";
    RecordCheck => "记录抽查", "Record the check";
    CheckPlaceholder => "核实情况，如：已电话向客户核实", "What the check found, e.g. confirmed with the customer by phone";
    MonthReview => "月末核实", "Month-end review";
    Scorecard => "考核", "Scorecard";
    Surveys => "满意度调查", "Satisfaction surveys";
    Events => "客户活动", "Customer events";
    HandoverRequest => "交接申请", "Hand-over request";
    HandoverRequests => "交接申请", "Hand-over requests";
    RequestHandover => "申请交接", "Request a hand-over";
    HandTo => "接手的客户经理（用户名）", "Hand to (username)";
    Why => "原因", "Why";
    SendRequest => "提交申请", "Send the request";
    KindRequestHandover => "申请交接", "Request a hand-over";
    KindDecideHandover => "审批交接", "Decide a hand-over";
    HoldEvent => "举办活动", "Hold an event";
    EventKind => "活动类型", "Kind";
    EventTitle => "活动名称", "Title";
    EventPlace => "地点", "Place";
    Invitees => "受邀客户", "Invited";
    Attended => "出席", "Came";
    NotAttended => "尚未记录出席", "Attendance not recorded";
    WhoCame => "出席人员", "Who came";
    RecordAttendance => "记录出席", "Record attendance";
    LogEventVisit => "记录活动走访与督办", "Log the event as a visit, with follow-ups";
    NoEvents => "还没有活动", "No events yet";
    EventsByHalf => "客户活动（每半年）", "Customer events (each half year)";
    NoEventHeld => "未举办", "none";
    HalfYear => "半年", "Half year";
    KindCreateEvent => "举办活动", "Hold an event";
    SurveyDue => "满意度调查到期", "Survey due";
    Attachments => "照片与附件", "Photos and attachments";
    AddAttachment => "添加照片或附件", "Add a photo or file";
    TakePhoto => "拍照", "Take a photo";
    ChooseFile => "选择文件", "Choose a file";
    AttachmentAbout => "关于", "About";
    AboutCustomer => "客户本身", "The customer";
    Caption => "说明", "Caption";
    WaitingUpload => "待上传", "waiting to upload";
    NotDownloaded => "联网后显示", "shown once online";
    Uploading => "正在上传附件", "Uploading files";
    FilesToUpload => "个附件待上传", "files to upload";
    FileRefused => "附件未上传", "File not uploaded";
    NoAttachments => "还没有照片或附件", "No photos or files yet";
    OpenFile => "打开", "Open";
    TakeSurvey => "开始满意度调查", "Take a survey";
    Respondent => "受访人", "Respondent";
    Comments => "意见建议", "Comments";
    VerySatisfied => "非常满意", "Very satisfied";
    Satisfied => "满意", "Satisfied";
    Neutral => "一般", "Neutral";
    Dissatisfied => "不满意", "Dissatisfied";
    VeryDissatisfied => "非常不满意", "Very dissatisfied";
    SurveysDue => "满意度调查到期", "Surveys due";
    SurveyScore => "调查满意度", "Survey score";
    Estimates => "经理估计（不参与定级与考核）", "Manager's estimates (not graded or scored)";
    Revenue => "收入", "Revenue";
    Sequential => "环比", "vs before";
    YoY => "同比", "vs last year";
    UnitTrend => "各单位收入走势", "Revenue by unit and month";
    AllFigures => "考核明细", "Every figure";
    CustomersCount => "客户数", "Customers";
    NewRegistrations => "新增报备", "New registrations";
    KeyShare => "重点客户收入占比", "Key-account share";
    FollowUpsOnTime => "督办按时办结", "Follow-ups on time";
    ComplaintsOnTime => "投诉按时处理", "Complaints on time";
    PlanCompletion => "计划完成率", "Plan completion";
    ChurnedCustomers => "流失客户", "Lost customers";
    Total => "合计", "Total";
    ReviewedBy => "负责人意见", "Head's review";
    MarkReviewed => "核实完毕", "Mark reviewed";
    ReviewComment => "意见（经理会看到）", "Comment (the manager reads it)";
    NotReviewed => "未核实", "Not reviewed";
    Reviewed => "已核实", "Reviewed";
    Managers => "客户经理", "Managers";
    ChooseManager => "选择一位客户经理查看其本月工作", "Choose a manager to read their month";
    KindReviewMonth => "月末核实", "Month-end review";
    KindRuleLine => "裁定归属", "Rule a line";
    RuleLine => "裁定归属本报备", "Rule to this registration";
    KindSpotCheck => "抽查走访", "Spot check";
    BadCreditReport => "不良资信报告", "Bad-credit report";
    BadCreditKind => "类型", "Kind";
    WhatHappened => "经过", "What happened";
    SendReport => "提交报告", "Send the report";
    KindReportWarning => "报告不良资信", "Report bad credit";
    KindApproveReg => "批准报备", "Approve registration";
    KindReturnReg => "退回报备", "Send back registration";
    KindGrade => "定级", "Fix level and grade";
    KindApproveAgreement => "批准服务协议", "Approve agreement";
    KindConfirmWarning => "确认不良资信", "Confirm bad credit";
    KindRejectWarning => "驳回不良资信", "Reject bad credit";
    Language => "English", "中文";
}

impl Lang {
    /// The language's tag for `Accept-Language`: the server answers in it.
    pub fn tag(self) -> &'static str {
        match self {
            Lang::Zh => "zh-CN",
            Lang::En => "en",
        }
    }

    /// The other language (for the switch button).
    pub fn other(self) -> Lang {
        match self {
            Lang::Zh => Lang::En,
            Lang::En => Lang::Zh,
        }
    }
}

/// A vocabulary value's label in the chosen language.
pub fn label(v: &impl fieldbook_shared::vocab::Label) -> String {
    v.label(crate::session::lang() == Lang::En)
}

/// One of two texts by the chosen language: for messages that hold what a
/// person typed (a name may hold " / ", which [`pick`] would split on).
pub fn say(zh: String, en: String) -> String {
    match crate::session::lang() {
        Lang::Zh => zh,
        Lang::En => en,
    }
}

/// A message written "中文 / English" (the server's and some of the app's)
/// in the chosen language: the part before " / " in Chinese, after it in
/// English.
pub fn pick(message: &str) -> String {
    match (message.split_once(" / "), crate::session::lang()) {
        (Some((zh, _)), Lang::Zh) => zh.to_string(),
        (Some((_, en)), Lang::En) => en.to_string(),
        (None, _) => message.to_string(),
    }
}
