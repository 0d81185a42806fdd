import { runSimulation } from '@cloud-copilot/iam-simulate';
const P='arn:aws:iam::111122223333:user/alice', R='arn:aws:sqs:us-east-1:111122223333:orders';
async function t(label, cond, ctx) {
  const sim={request:{principal:P,action:'sqs:SendMessage',resource:{resource:R,accountId:'111122223333'},contextVariables:ctx},
   identityPolicies:[{name:'p',policy:{Version:'2012-10-17',Statement:[{Effect:'Allow',Action:'sqs:SendMessage',Resource:'*',Condition:cond}]}}],serviceControlPolicies:[],resourceControlPolicies:[]};
  const r=await runSimulation(sim,{});
  console.log(label.padEnd(50), r.resultType==='error'?JSON.stringify(r.errors):r.overallResult);
}
for (const ip of ['2001:db8::1','10.1.2.3','198.51.100.9']) {
await t('NotIpAddress v4 ranges, ctx '+ip, {'NotIpAddress':{'aws:SourceIp':['203.0.113.5','10.0.0.0/8']}}, {'aws:SourceIp':ip});
await t('IpAddress v4 ranges, ctx '+ip, {'IpAddress':{'aws:SourceIp':['203.0.113.5','10.0.0.0/8']}}, {'aws:SourceIp':ip});
await t('NotIpAddress v6 range, ctx '+ip, {'NotIpAddress':{'aws:SourceIp':['2001:db8::/32']}}, {'aws:SourceIp':ip});
}
