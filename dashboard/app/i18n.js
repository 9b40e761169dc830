// Japanese and English words of the page. Alert labels come from the alert engine's
// events (its rules file), so only the page's own words live here.

const WORDS = {
  ja: {
    title: 'floodwatch 河川・道路監視',
    stations: '観測所',
    station: '観測所',
    value: '現在値',
    band: '状況',
    time: '観測時刻',
    alerts: '発表中の警報',
    noAlerts: '発表中の警報はありません',
    chooseStation: '観測所を選ぶと水位の推移を表示します',
    chartLevel: '水位 (m)',
    chartDepth: '冠水深 (cm)',
    noHistory: '直近24時間の記録がありません',
    historyFailed: '履歴を取得できません（データベース停止中）',
    acknowledge: '確認',
    acknowledged: '確認済み',
    ackSent: '確認を送信しました。警報エンジンの応答を待っています…',
    ackNeedsOfficer: '確認には担当職員（officer）のキーが必要です',
    ackFailed: '確認を送信できませんでした',
    unconfirmed: '未確定',
    deliveryStates: { pending: '送信待ち', sent: '送信済み', failed: '失敗（再試行）',
      expired: '期限切れ', unknown: '結果不明', superseded: '差し替え' },
    deliveryUnknown: '要確認：アカウントを直接確認してください',
    deliveryUnknownTitle: '送信結果が失われました（自動では再送しません）。担当者がアカウントを確認してください',
    unconfirmedTitle: '1回の観測のみ：次の観測で確定するまで住民には発表されません',
    stale: '欠測',
    staleTitle: 'この観測所から最新のデータが届いていません',
    noData: 'データなし',
    live: '接続中（リアルタイム）',
    connecting: '接続しています…',
    lost: '接続が切れました',
    reconnecting: (s) => `接続が切れました。${s}秒後に再接続します`,
    lostBanner: '接続が切れています。表示中のデータは最新ではありません。',
    authBanner: 'キーが無効です。もう一度入力してください。',
    busOnly: 'データベースに接続できません。最新値のみ表示しています。',
    noDataBanner: (n, since) => `${n}観測所からデータが届いていません（最終受信 ${since}）。観測所ではなく通信経路の障害の可能性があります。`,
    signOut: 'キーを消去',
    signIn: 'キーを入力',
    publicView: '公開情報のみ表示中：職員向けの警報（欠測・データ品質・未確定の上昇・担当者の確認）は表示されません。職員はキーを入力してください。',
    keyTitle: 'APIキー',
    keyHelp: 'キーはこのタブを閉じるまで保存されます。',
    keyLabel: 'キー',
    keySubmit: '開始',
    keyPublic: 'キーなしで閲覧',
    keyRejected: 'このキーは使えません',
    language: 'English',
    level: '警報レベル',
    bands: {
      normal: '平常', standby: '水防団待機水位', caution: '氾濫注意水位',
      evacuation: '避難判断水位', danger: '氾濫危険水位', flooding: '氾濫発生',
    },
    road: '道路',
    // Confirmations, who acknowledged, flooding declarations, the phone header.
    cancel: 'キャンセル',
    you: 'あなた',
    ackBy: (who, when) => `${who}・${when}`,
    confirmAckTitle: '警報を確認済みにしますか',
    confirmAckText: (station, label, official) => `${station}の「${label}」${official ? `（${official}）` : ''}を確認済みにします。確認した担当者と時刻は他の職員にも表示されます。`,
    declareFlooding: '氾濫発生を宣言',
    endFlooding: '氾濫発生の宣言を終了',
    confirmDeclareTitle: '氾濫発生を宣言しますか',
    confirmDeclareText: (station) => `${station}で氾濫発生（警戒レベル5相当）を宣言します。住民向けの発信が直ちに行われます。`,
    confirmEndTitle: '氾濫発生の宣言を終了しますか',
    confirmEndText: (station) => `${station}の氾濫発生の宣言を終了します。警報は最新の水位に応じたレベルまで直ちに下がります。`,
    floodingSent: '送信しました。警報エンジンの応答を待っています…',
    needsOfficer: 'この操作には担当職員（officer）のキーが必要です',
    commandFailed: '送信できませんでした',
    menu: 'メニュー',
    trend: '傾向（1時間）',
    since: '到達時刻',
    raisedAt: (at) => `最初の発表 ${at}`,
    ackLevelChanged: '警報のレベルが変わりました。内容を確かめてから確認してください',
    demoNotice: (x) => `デモ（訓練用の模擬データ）: 台風を${x}倍速で再生中。上昇率・次の水位までの時間は台風の時間で表示`,
    offline: '通信途絶',
    offlineTitle: '警報エンジンがこの観測所を通信途絶と判断しています',
    suspect: '要確認',
    suspectTitle: 'データ品質: 警報エンジンが信用しなかった値があります',
    riverView: '河川縦断図',
    riverDirection: '上流 → 下流（模式図：各観測所の水位を自らの基準水位に合わせて表示）',
    nextLevel: (band) => `${band}まで`,
    aboveAll: 'すべての基準水位を超過',
    alertLevelOf: (n) => `警戒レベル${n}相当`,
    projection: (band, at) => `予測: ${band} ${at}`,
    // Forecasts (docs/forecast.md) and forecast warnings.
    forecast: '予測',
    forecastColumn: '到達予測',
    forecastCrossing: (band, at, minutes) => `${band} 到達予測 ${at}（${minutes}分後）`,
    forecastShort: (band, at, minutes) => `${band} ${at}（${minutes}分後）`,
    forecastMedian: '予測水位（中央値・幅）',
    forecastOutdated: (at) => `古い予測（${at}発表）`,
    forecastAhead: (h1, h3, low, high) => `予測 1時間後 ${h1} m・3時間後 ${h3} m（${low}〜${high} m）`,
    noCrossing: '3時間以内に次の基準水位への到達予測なし',
    noCrossingShort: 'なし（3時間）',
    trendOnly: '傾向のみ',
    trendOnlyNote: '（傾向のみ）',
    trendOnlyTitle: '上流・雨量のモデルではなく、この観測所の水位の傾向だけによる予測',
    forecastBadgeTitle: '水位予測による警報：まだこの水位に達していません',
    forecastExpected: (at, minutes) => `${at}（${minutes}分後）`,
  },
  en: {
    title: 'floodwatch rivers and roads',
    stations: 'Stations',
    station: 'Station',
    value: 'Now',
    band: 'Status',
    time: 'Observed',
    alerts: 'Open alerts',
    noAlerts: 'No open alerts',
    chooseStation: 'Choose a station to see its level',
    chartLevel: 'Level (m)',
    chartDepth: 'Water depth (cm)',
    noHistory: 'No readings in the last 24 hours',
    historyFailed: 'History unavailable (database down)',
    acknowledge: 'Acknowledge',
    acknowledged: 'Acknowledged',
    ackSent: 'Acknowledgement sent; waiting for the alert engine…',
    ackNeedsOfficer: 'Acknowledging needs an officer key',
    ackFailed: 'The acknowledgement could not be sent',
    unconfirmed: 'Unconfirmed',
    deliveryStates: { pending: 'pending', sent: 'sent', failed: 'failed (retrying)',
      expired: 'expired', unknown: 'unknown', superseded: 'superseded' },
    deliveryUnknown: 'Check the account by hand',
    deliveryUnknownTitle: 'The outcome of this post was lost (it is never re-sent): an officer must check the account',
    unconfirmedTitle: 'A single reading: residents are told once the next reading confirms it',
    stale: 'Stale',
    staleTitle: 'No recent data from this station',
    noData: 'no data',
    live: 'Live',
    connecting: 'Connecting…',
    lost: 'Connection lost',
    reconnecting: (s) => `Connection lost; reconnecting in ${s} s`,
    lostBanner: 'Connection lost. The data shown is not current.',
    authBanner: 'The key was refused. Please enter it again.',
    busOnly: 'Database unreachable: showing live values only.',
    noDataBanner: (n, since) => `No data from ${n} stations (last reading ${since}): the data link, not the gauges, may have failed.`,
    signOut: 'Forget key',
    signIn: 'Enter key',
    publicView: 'Public view: staff-only alerts (offline, data quality, unconfirmed rises, acknowledgements) are not shown. Staff: enter your key.',
    keyTitle: 'API key',
    keyHelp: 'The key is kept until this tab is closed.',
    keyLabel: 'Key',
    keySubmit: 'Start',
    keyPublic: 'Browse without a key',
    keyRejected: 'This key was refused',
    language: '日本語',
    level: 'Alert level',
    bands: {
      normal: 'Normal', standby: 'Standby level', caution: 'Flood caution level',
      evacuation: 'Evacuation judgement level', danger: 'Flood danger level',
      flooding: 'Flooding',
    },
    road: 'Road',
    cancel: 'Cancel',
    you: 'you',
    ackBy: (who, when) => `${who}, ${when}`,
    confirmAckTitle: 'Acknowledge this alert?',
    confirmAckText: (station, label, official) => `${station}: "${label}"${official ? ` (${official})` : ''} will be marked acknowledged. Other officers see who acknowledged it and when.`,
    declareFlooding: 'Declare flooding',
    endFlooding: 'End flooding declaration',
    confirmDeclareTitle: 'Declare flooding?',
    confirmDeclareText: (station) => `Flooding (alert level 5 equivalent) will be declared at ${station}. Residents are told at once.`,
    confirmEndTitle: 'End the flooding declaration?',
    confirmEndText: (station) => `The flooding declaration at ${station} ends. The alert falls at once to what the latest level sustains.`,
    floodingSent: 'Sent; waiting for the alert engine…',
    needsOfficer: 'This needs an officer key',
    commandFailed: 'The command could not be sent',
    menu: 'Menu',
    trend: 'Trend (1 h)',
    since: 'Reached',
    raisedAt: (at) => `First raised ${at}`,
    ackLevelChanged: 'The alert has changed level: look at it again before acknowledging',
    demoNotice: (x) => `Demo (simulated exercise data): the typhoon plays ${x}x fast; rates and times to the next level are in storm time`,
    offline: 'Offline',
    offlineTitle: 'The alert engine has found this station offline',
    suspect: 'Suspect',
    suspectTitle: 'Data quality: the alert engine did not believe a value',
    riverView: 'River profile',
    riverDirection: 'Upstream → downstream (schematic: each gauge against its own reference levels)',
    nextLevel: (band) => `to ${band}:`,
    aboveAll: 'Above every reference level',
    alertLevelOf: (n) => `Alert level ${n} eq.`,
    projection: (band, at) => `Projected: ${band} ${at}`,
    forecast: 'Forecast',
    forecastColumn: 'Expected',
    forecastCrossing: (band, at, minutes) => `${band} expected ${at} (in ${minutes} min)`,
    forecastShort: (band, at, minutes) => `${band} ${at} (in ${minutes} min)`,
    forecastMedian: 'Forecast level (median, band)',
    forecastOutdated: (at) => `Outdated forecast (issued ${at})`,
    forecastAhead: (h1, h3, low, high) => `Forecast +1 h ${h1} m, +3 h ${h3} m (${low}–${high} m)`,
    noCrossing: 'No next reference level expected within 3 h',
    noCrossingShort: 'none (3 h)',
    trendOnly: 'trend only',
    trendOnlyNote: '(trend only)',
    trendOnlyTitle: "From this gauge's own trend only, not the model of upstream gauges and rain",
    forecastBadgeTitle: 'A forecast warning: the river has not reached this level yet',
    forecastExpected: (at, minutes) => `${at} (in ${minutes} min)`,
  },
};

const STORAGE = 'floodwatch.language';
let language = localStorage.getItem(STORAGE) === 'en' ? 'en' : 'ja';

export function currentLanguage() {
  return language;
}

export function setLanguage(next) {
  language = next === 'en' ? 'en' : 'ja';
  localStorage.setItem(STORAGE, language);
  document.documentElement.lang = language;
  for (const element of document.querySelectorAll('[data-i18n]')) {
    element.textContent = t(element.dataset.i18n);
  }
}

export function t(key, ...args) {
  const word = WORDS[language][key];
  return typeof word === 'function' ? word(...args) : (word ?? key);
}

export function bandName(band) {
  return WORDS[language].bands[band] ?? band;
}

// A {ja, en} object from the registry or an alert event, in the current language.
export function localized(names) {
  if (!names) return '';
  return names[language] ?? names.en ?? names.ja ?? '';
}

const TIME = {
  ja: new Intl.DateTimeFormat('ja-JP', { timeZone: 'Asia/Tokyo', month: 'numeric',
    day: 'numeric', hour: '2-digit', minute: '2-digit' }),
  en: new Intl.DateTimeFormat('en-GB', { timeZone: 'Asia/Tokyo', month: 'short',
    day: 'numeric', hour: '2-digit', minute: '2-digit', timeZoneName: 'short' }),
};

export function formatTime(iso) {
  return iso ? TIME[language].format(new Date(iso)) : '';
}

const CLOCK = new Intl.DateTimeFormat('en-GB', { timeZone: 'Asia/Tokyo', hour: '2-digit',
  minute: '2-digit', hourCycle: 'h23' });

// Chart axis ticks: 24-hour Japan time in both languages, as officers log times.
export function formatClock(seconds) {
  return CLOCK.format(new Date(seconds * 1000));
}
