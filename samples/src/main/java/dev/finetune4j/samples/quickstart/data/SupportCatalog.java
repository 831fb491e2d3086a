package dev.finetune4j.samples.quickstart.data;

import java.util.List;
import java.util.Map;

/**
 * The customer-service knowledge of the quickstart's fictional bank and insurer (Harbor Bank / 海港银行), in English
 * and Chinese: each intent has a few question wordings and one formulaic answer, so that a tiny byte-level model
 * can learn it in a minute or two. {@code {p}} is a product slot; {@code {fee}} and {@code {limit}} are numbers
 * that depend on the product.
 *
 * <p>Written by us for the quickstart; nothing here comes from a real institution.
 */
final class SupportCatalog {
    private SupportCatalog() {
    }

    /** A product that fills the {@code {p}} slot, with its numbers. */
    record Product(String en, String zh, Map<String, String> numbers) {
    }

    /**
     * One intent in both languages.
     *
     * @param label     the intent's label (written as the record's {@code label})
     * @param products  products for the slot, empty when the intent has none
     * @param enAsk     English question wordings
     * @param enAnswer  the English answer
     * @param zhAsk     Chinese question wordings
     * @param zhAnswer  the Chinese answer
     */
    record Intent(String label, List<Product> products, List<String> enAsk, String enAnswer, List<String> zhAsk,
                  String zhAnswer) {
    }

    static final List<Product> CARDS = List.of(
            new Product("Classic card", "普卡", Map.of("fee", "50", "limit", "20000")),
            new Product("Gold card", "金卡", Map.of("fee", "200", "limit", "50000")),
            new Product("Platinum card", "白金卡", Map.of("fee", "1000", "limit", "100000")));

    static final List<Product> POLICIES = List.of(
            new Product("car insurance", "车险", Map.of()),
            new Product("travel insurance", "旅行险", Map.of()),
            new Product("health insurance", "医疗险", Map.of()),
            new Product("home insurance", "家财险", Map.of()));

    static final List<Intent> INTENTS = List.of(
            new Intent("annual_fee", CARDS,
                    List.of("What is the annual fee for the {p}?", "How much does the {p} cost per year?",
                            "Is there a yearly fee on my {p}?", "Do I have to pay an annual fee for the {p}?"),
                    "The {p} annual fee is {fee} yuan. It is waived after 6 purchases in a year.",
                    List.of("{p}的年费是多少？", "{p}每年要交多少钱？", "我的{p}有年费吗？", "办{p}要交年费吗？"),
                    "{p}年费为{fee}元，一年内消费满6次可免年费。"),
            new Intent("lost_card", CARDS,
                    List.of("I lost my {p}, what should I do?", "My {p} was stolen.", "How do I report a lost {p}?",
                            "I can't find my {p} anywhere."),
                    "Please freeze the {p} in the app under Cards > Freeze, then call 95123 for a new card.",
                    List.of("我的{p}丢了怎么办？", "{p}被偷了。", "怎么挂失{p}？", "{p}找不到了。"),
                    "请先在App“卡片-冻结”中冻结{p}，再拨打95123补办新卡。"),
            new Intent("transfer_limit", CARDS,
                    List.of("What is the daily transfer limit of the {p}?", "How much can I transfer per day with my {p}?",
                            "Is there a daily limit on transfers from the {p}?"),
                    "The {p} can transfer up to {limit} yuan per day in the app. Raise it at a branch with your ID card.",
                    List.of("{p}每天能转账多少？", "{p}的单日转账限额是多少？", "{p}转账有额度限制吗？"),
                    "{p}在App每日可转账{limit}元，如需提额请带身份证到网点办理。"),
            new Intent("credit_limit", CARDS,
                    List.of("How can I raise the credit limit on my {p}?", "Can I get a higher limit on the {p}?",
                            "I want a bigger credit line on my {p}."),
                    "Use the {p} for 6 months with on-time repayments, then apply in the app under Cards > Limit.",
                    List.of("{p}怎么提高信用额度？", "{p}可以提额吗？", "我想提高{p}的额度。"),
                    "{p}按时还款使用满6个月后，可在App“卡片-额度”中申请提额。"),
            new Intent("repayment_date", CARDS,
                    List.of("When is the repayment due for my {p}?", "What day do I need to pay my {p} bill?",
                            "When is the {p} statement date?"),
                    "The {p} bill is issued on the 5th and payment is due on the 25th of each month.",
                    List.of("{p}什么时候还款？", "{p}的还款日是哪天？", "{p}账单日是几号？"),
                    "{p}每月5日出账单，25日为最后还款日。"),
            new Intent("overseas_use", CARDS,
                    List.of("Can I use my {p} abroad?", "Does the {p} work overseas?", "I am travelling, will my {p} work?"),
                    "Yes. Turn on overseas use for the {p} in the app before you travel. A 1.5% currency fee applies.",
                    List.of("{p}能在国外用吗？", "出国可以刷{p}吗？", "{p}支持境外消费吗？"),
                    "可以。出国前请在App开通{p}境外使用，外币交易收取1.5%货币转换费。"),
            new Intent("dispute_charge", CARDS,
                    List.of("There is a charge I don't recognise on my {p}.", "Someone used my {p} without permission.",
                            "I see a strange payment on my {p}."),
                    "Please freeze the {p} and file a dispute in the app under Bills > Dispute. We reply within 7 working days.",
                    List.of("{p}有一笔不认识的消费。", "{p}被盗刷了怎么办？", "{p}账单里有陌生交易。"),
                    "请立即冻结{p}，并在App“账单-争议”中提交申请，我们将在7个工作日内回复。"),
            new Intent("reset_password", List.of(),
                    List.of("How do I reset my online banking password?", "I forgot my login password.",
                            "I can't log in because I forgot my password.", "How can I change my app password?",
                            "My password stopped working, how do I set a new one?"),
                    "Tap Forgot Password on the login page, verify with the SMS code, then set a new password of 8 to 20 characters.",
                    List.of("网银密码忘了怎么重置？", "我忘记登录密码了。", "App密码怎么修改？", "登录密码不对，怎么设置新密码？",
                            "密码忘记了登不上去。"),
                    "请在登录页点击“忘记密码”，通过短信验证码验证后设置8到20位新密码。"),
            new Intent("open_account", List.of(),
                    List.of("How do I open a savings account?", "Can I open an account online?",
                            "What do I need to open a bank account?", "I want to open a new account."),
                    "Bring your ID card to any branch, or open an account in the app in 10 minutes with face verification.",
                    List.of("怎么开储蓄账户？", "可以在网上开户吗？", "开户需要带什么？", "我想开一个新账户。"),
                    "请携带身份证到任一网点办理，或在App通过人脸验证10分钟完成开户。"),
            new Intent("fixed_deposit", List.of(),
                    List.of("What is the interest rate on a one-year fixed deposit?", "How much interest does a fixed deposit pay?",
                            "What is your deposit rate for one year?", "I want to put money in a fixed deposit."),
                    "A one-year fixed deposit earns 1.5% a year. You can open one in the app from 50 yuan.",
                    List.of("一年定期存款利率是多少？", "定期存款利息怎么算？", "存一年定期有多少利息？", "我想存定期。"),
                    "一年期定期存款年利率为1.5%，50元起存，可在App直接办理。"),
            new Intent("mortgage_rate", List.of(),
                    List.of("What is the current mortgage rate?", "How much interest is a home loan?",
                            "What rate do you charge for a first home loan?", "I want to know your mortgage interest."),
                    "Our first-home mortgage rate is 3.1% a year. Use the loan calculator in the app for your monthly payment.",
                    List.of("现在房贷利率是多少？", "首套房贷款利率多少？", "住房贷款利息怎么算？", "我想了解房贷利率。"),
                    "首套房贷年利率为3.1%，月供可用App中的贷款计算器测算。"),
            new Intent("update_phone", List.of(),
                    List.of("How do I update my phone number?", "I changed my mobile number, how do I update it?",
                            "Where can I change my contact details?", "My phone number is out of date."),
                    "Go to Profile > Contact Details in the app and verify the new number with an SMS code.",
                    List.of("怎么修改手机号？", "我换手机号了，怎么更新？", "在哪里改联系方式？", "预留手机号不用了怎么办？"),
                    "请在App“我的-联系方式”中修改，并用新号码接收短信验证码确认。"),
            new Intent("file_claim", POLICIES,
                    List.of("How do I file a claim on my {p}?", "I need to make a {p} claim.", "What is the claim process for {p}?"),
                    "Open the app, choose Claims > New Claim, pick your {p} policy and upload photos. Most claims are paid in 5 days.",
                    List.of("{p}怎么理赔？", "我要申请{p}理赔。", "{p}的理赔流程是什么？"),
                    "请在App选择“理赔-报案”，选择{p}保单并上传照片，多数案件5天内赔付。"),
            new Intent("claim_status", POLICIES,
                    List.of("How can I check my {p} claim?", "What is the status of my {p} claim?", "Has my {p} claim been paid?"),
                    "Your {p} claim status is in the app under Claims. We also send an SMS at each step.",
                    List.of("{p}理赔进度怎么查？", "我的{p}理赔到哪一步了？", "{p}赔款到账了吗？"),
                    "{p}理赔进度可在App“理赔”中查看，每一步我们都会短信通知。"),
            new Intent("cancel_policy", POLICIES,
                    List.of("How do I cancel my {p}?", "I want to stop my {p} policy.", "Can I get a refund if I cancel the {p}?"),
                    "You can cancel the {p} within 15 days for a full refund. After that the unused premium is refunded.",
                    List.of("{p}怎么退保？", "我不想要{p}了。", "{p}退保能退钱吗？"),
                    "{p}在15天犹豫期内退保可全额退款，之后退还未使用的保费。"),
            new Intent("pay_premium", POLICIES,
                    List.of("How do I pay my {p} premium?", "What are the payment options for the {p}?", "Can I pay the {p} by card?"),
                    "Pay the {p} premium in the app, by bank transfer or by auto-debit from your card.",
                    List.of("{p}保费怎么交？", "{p}有哪些缴费方式？", "{p}可以刷卡交费吗？"),
                    "{p}保费可在App支付，也可银行转账或绑定银行卡自动扣款。"),
            new Intent("renew_policy", POLICIES,
                    List.of("How do I renew my {p}?", "My {p} is about to expire.", "Does the {p} renew automatically?"),
                    "We remind you 30 days before the {p} ends. Renew in the app with one tap under Policies > Renew.",
                    List.of("{p}怎么续保？", "{p}快到期了。", "{p}会自动续保吗？"),
                    "{p}到期前30天我们会提醒您，可在App“保单-续保”一键续保。"),
            new Intent("change_beneficiary", List.of(),
                    List.of("How do I change the beneficiary of my policy?", "Can I update who receives the payout?",
                            "I want to name a new beneficiary.", "Where do I change my policy beneficiary?"),
                    "Sign in to the app, go to Policies > Beneficiary and confirm with the SMS code. Changes apply the next day.",
                    List.of("怎么变更保单受益人？", "受益人可以修改吗？", "我想换一个受益人。", "在哪里改受益人？"),
                    "请登录App进入“保单-受益人”，短信验证后即可变更，次日生效。"));
}
